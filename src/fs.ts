import type {Stats} from 'node:fs'
import {lstat, mkdir, readdir, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from './errors.js'

/** Whether a directory entry exists (a link counts as itself, not followed). */
export function pathExists(file: string): Promise<boolean> {
  return lstat(file).then(() => true, () => false)
}

/**
 * Fail early when OUTPUT cannot be written: its directory is made if need
 * be and a probe file written there (access(2) says yes to root on
 * read-only mounts and immutable dirs). `what` names the output in the message.
 */
export async function assertWritable(output: string, what: string): Promise<void> {
  const parent = path.dirname(output)
  try {
    await mkdir(parent, {recursive: true})
    const probe = path.join(parent, `.apt-ostree-probe-${process.pid}`)
    await writeFile(probe, '')
    await rm(probe)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a parent is not a directory' : (code ?? (error as Error).message)
    throw new AptOstreeError(`${output}: cannot write the ${what} there (${why})`)
  }
}

/** One entry of a directory tree on disk, as walkTree yields it. */
export interface WalkedEntry {
  /** Path relative to the root, without a leading slash. */
  relative: string
  absolute: string
  stats: Stats
}

/** Every entry below `directory` (not following links), parents before children, names sorted. */
export async function* walkTree(root: string, directory = ''): AsyncGenerator<WalkedEntry> {
  const absoluteDirectory = path.join(root, directory)
  const names = (await readdir(absoluteDirectory)).sort()
  for (const name of names) {
    const relative = directory ? `${directory}/${name}` : name
    const absolute = path.join(root, relative)
    const stats = await lstat(absolute)
    yield {relative, absolute, stats}
    if (stats.isDirectory()) yield* walkTree(root, relative)
  }
}
