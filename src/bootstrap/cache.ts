import type {RunOptions} from '../tools/exec.js'
import type {OstreeRepo} from '../tools/ostree.js'

/** Bootstrapped trees kept: the newest few, so a cache dir does not grow without bound. */
const KEEP = 2
const REF_PREFIX = 'apt-ostree/bootstrap/'

/**
 * Bootstrapped trees by bootstrap hash, kept as commits of the staging repo
 * (whose objects the final commits share): a rebuild whose packages and
 * archive state did not change starts from a checkout instead of running
 * mmdebstrap again. The repo is checked (ostree fsck) before any reuse, so
 * a damaged tree is built again instead of reused.
 */
export class BootstrapCache {
  /** STAGING as the sandbox sees it: the trees belong to the build namespace. */
  constructor(private readonly staging: OstreeRepo) {}

  private ref(hash: string): string {
    return REF_PREFIX + hash
  }

  /** The cached tree's commit, when there is a whole one. */
  async find(hash: string): Promise<string | undefined> {
    const commit = await this.staging.resolve(this.ref(hash))
    return commit && (await this.staging.hasWholeCommit(commit)) ? commit : undefined
  }

  /** Check the cached tree out to TARGET (which must not exist), as plain files. */
  async restore(commit: string, target: string, options: RunOptions): Promise<void> {
    await this.staging.checkout(commit, target, options)
  }

  /** Keep TREE (just bootstrapped) for its hash; only the newest KEEP trees stay. */
  async store(hash: string, tree: string, options: RunOptions): Promise<void> {
    // The time of storing orders the trees for pruning; the commit is never published.
    const commit = await this.staging.commit({tree, timestamp: Math.floor(Date.now() / 1000)}, options)
    await this.staging.setRef(this.ref(hash), commit, options)
    const refs = (await this.staging.refs(REF_PREFIX, options)).filter((ref) => ref !== this.ref(hash))
    const dated = await Promise.all(refs.map(async (ref) => ({ref, time: await this.staging.timestamp(ref)})))
    for (const old of dated.sort((a, b) => b.time - a.time).slice(KEEP - 1)) await this.staging.deleteRef(old.ref, options)
  }
}
