import {mkdir, readdir, rename, rm, stat} from 'node:fs/promises'
import path from 'node:path'
import {pathExists} from '../fs.js'
import {run, type RunOptions} from '../tools/exec.js'

/** Bootstrapped trees kept: the newest few, so a cache dir does not grow without bound. */
const KEEP = 2

/**
 * Bootstrapped rootfs trees by bootstrap hash: a rebuild whose packages and
 * archive state did not change (a new postprocess script, a new file) starts
 * from a copy instead of running mmdebstrap again.
 */
export class RootfsCache {
  constructor(private readonly directory: string) {}

  private entry(hash: string): string {
    return path.join(this.directory, hash)
  }

  async has(hash: string): Promise<boolean> {
    return pathExists(path.join(this.entry(hash), 'usr'))
  }

  /** Copy the cached tree to `target` (reflinks where the filesystem has them). */
  async restore(hash: string, target: string, options: RunOptions): Promise<void> {
    await run('cp', ['-a', '--reflink=auto', this.entry(hash), target], {label: 'cp of the cached tree', ...options})
  }

  /** Store a copy of a freshly bootstrapped tree; the newest KEEP stay. */
  async store(hash: string, tree: string, options: RunOptions): Promise<void> {
    await mkdir(this.directory, {recursive: true})
    const partial = `${this.entry(hash)}.partial-${process.pid}`
    await rm(partial, {recursive: true, force: true})
    await run('cp', ['-a', '--reflink=auto', tree, partial], {label: 'cp of the tree into the cache', ...options})
    await rm(this.entry(hash), {recursive: true, force: true})
    await rename(partial, this.entry(hash))
    const entries = await Promise.all(
      (await readdir(this.directory)).map(async (name) => ({name, time: (await stat(path.join(this.directory, name))).mtimeMs})),
    )
    for (const old of entries.sort((a, b) => b.time - a.time).slice(KEEP)) await rm(path.join(this.directory, old.name), {recursive: true, force: true})
  }
}
