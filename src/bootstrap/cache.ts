import {readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {pathExists} from '../fs.js'
import type {Sandbox} from '../sandbox/bwrap.js'
import type {JobContext} from '../workspace.js'

/** Bootstrapped trees kept: the newest few, so a cache dir does not grow without bound. */
const KEEP = 2

/** How the cache gets a tree's digest: computed in the sandbox, which can read every file (paths inside it). */
export type TreeDigester = (insideRoot: string) => Promise<string>

/**
 * Bootstrapped trees by bootstrap hash: a rebuild whose packages and
 * archive state did not change (a new postprocess script, a new file)
 * starts from a copy instead of running mmdebstrap again. Each entry's
 * digest (content, owners, modes, mtimes) is recorded when it is stored and
 * checked on every restore: a damaged tree is built again, not reused. The
 * copies are made in the sandbox, whose root owns the trees.
 */
export class RootfsCache {
  constructor(
    private readonly directory: string,
    private readonly sandbox: Sandbox,
    private readonly digestOf: TreeDigester,
  ) {}

  private entry(hash: string): string {
    return path.join(this.directory, hash)
  }

  private digestFile(hash: string): string {
    return `${this.entry(hash)}.sha256`
  }

  private copy(from: string, to: string, context: JobContext): Promise<unknown> {
    return this.sandbox.run(['cp', '-a', '--reflink=auto', this.sandbox.inside(from), this.sandbox.inside(to)], {label: 'cp of a bootstrapped tree', log: context.log, signal: context.signal})
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
    if ((await this.digestOf(this.sandbox.inside(target))) === expected) return true
    context.warn('the cached bootstrapped tree is not as it was stored (a damaged cache): bootstrapping again')
    await this.drop(hash, context)
    await this.sandbox.run(['rm', '-rf', '--one-file-system', this.sandbox.inside(target)], {log: context.log, signal: context.signal})
    return false
  }

  /** Store a copy of a freshly bootstrapped tree, with its digest; the newest KEEP stay. */
  async store(hash: string, tree: string, context: JobContext): Promise<void> {
    const digest = await this.digestOf(this.sandbox.inside(tree))
    const partial = `${this.entry(hash)}.partial-${process.pid}`
    await this.drop(hash, context)
    await this.copy(tree, partial, context)
    await this.sandbox.run(['mv', '-T', this.sandbox.inside(partial), this.sandbox.inside(this.entry(hash))], {log: context.log, signal: context.signal})
    await writeFile(this.digestFile(hash), `${digest}\n`)
    const entries = await Promise.all(
      (await readdir(this.directory)).filter((name) => /^[0-9a-f]{64}$/.test(name)).map(async (name) => ({name, time: (await stat(path.join(this.directory, name))).mtimeMs})),
    )
    for (const old of entries.sort((a, b) => b.time - a.time).slice(KEEP)) await this.drop(old.name, context)
  }

  private async drop(hash: string, context: JobContext): Promise<void> {
    await rm(this.digestFile(hash), {force: true})
    if (await pathExists(this.entry(hash))) await this.sandbox.run(['rm', '-rf', '--one-file-system', this.sandbox.inside(this.entry(hash))], {log: context.log, signal: context.signal})
  }
}
