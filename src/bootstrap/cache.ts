import {lstat, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {pathExists} from '../fs.js'
import type {Sandbox} from '../sandbox/bwrap.js'
import type {JobContext} from '../workspace.js'

/** Bootstrapped trees kept: the newest few, so a cache dir does not grow without bound. */
const KEEP = 2

/** How the cache gets a tree's digest (a host path): computed in the sandbox, which can read every file. */
export type TreeDigester = (tree: string) => Promise<string>

/**
 * Bootstrapped trees by bootstrap hash: a rebuild whose packages and
 * archive state did not change (a new postprocess script, a new file)
 * starts from a copy instead of running mmdebstrap again. Each entry's
 * digest (content, owners, modes, mtimes) is recorded when it is stored and
 * checked on every restore: a damaged tree is built again, not reused. The
 * copies are made in the sandbox, whose root owns the trees; the digests
 * are kept in RECORDS, which the host owns and no sandboxed job is granted,
 * so code that could change a tree cannot change its record too.
 */
export class RootfsCache {
  constructor(
    private readonly directory: string,
    private readonly records: string,
    private readonly sandbox: Sandbox,
    private readonly digestOf: TreeDigester,
  ) {}

  private entry(hash: string): string {
    return path.join(this.directory, hash)
  }

  private digestFile(hash: string): string {
    return path.join(this.records, `rootfs-${hash}.sha256`)
  }

  private copy(from: string, to: string, context: JobContext): Promise<unknown> {
    return this.sandbox.run(['cp', '-a', '--reflink=auto', this.sandbox.inside(from), this.sandbox.inside(to)], {label: 'cp of a bootstrapped tree', log: context.log, signal: context.signal, grant: {read: [from], write: [path.dirname(to)]}})
  }

  private remove(tree: string, context: JobContext): Promise<unknown> {
    return this.sandbox.run(['rm', '-rf', '--one-file-system', this.sandbox.inside(tree)], {label: 'rm of a bootstrapped tree', log: context.log, signal: context.signal, grant: {write: [path.dirname(tree)]}})
  }

  /**
   * Copy the cached tree to TARGET (reflinks where the filesystem has
   * them); false, with a warning, when it is not there or not as it was
   * stored (then it is dropped, and TARGET with it).
   */
  async restore(hash: string, target: string, context: JobContext): Promise<boolean> {
    const expected = (await readFile(this.digestFile(hash), 'utf8').catch(() => '')).trim()
    if (!expected || !(await pathExists(this.entry(hash)))) return false
    await this.copy(this.entry(hash), target, context)
    if ((await this.digestOf(target)) === expected) return true
    context.warn('the cached bootstrapped tree is not as it was stored (a damaged cache): bootstrapping again')
    await this.drop(hash, context)
    await this.remove(target, context)
    return false
  }

  /** Store a copy of a freshly bootstrapped tree, with its digest; the newest KEEP stay. */
  async store(hash: string, tree: string, context: JobContext): Promise<void> {
    const digest = await this.digestOf(tree)
    const partial = `${this.entry(hash)}.partial-${process.pid}`
    await this.drop(hash, context)
    await this.copy(tree, partial, context)
    await this.sandbox.run(['mv', '-T', this.sandbox.inside(partial), this.sandbox.inside(this.entry(hash))], {log: context.log, signal: context.signal, grant: {write: [this.directory]}})
    await writeFile(this.digestFile(hash), `${digest}\n`, {mode: 0o600})
    const entries = await Promise.all(
      (await readdir(this.directory)).filter((name) => /^[0-9a-f]{64}$/.test(name)).map(async (name) => ({name, time: (await lstat(path.join(this.directory, name))).mtimeMs})),
    )
    for (const old of entries.sort((a, b) => b.time - a.time).slice(KEEP)) await this.drop(old.name, context)
  }

  private async drop(hash: string, context: JobContext): Promise<void> {
    await rm(this.digestFile(hash), {force: true})
    if (await pathExists(this.entry(hash))) await this.remove(this.entry(hash), context)
  }
}
