import {createHash} from 'node:crypto'
import {createReadStream, type Stats} from 'node:fs'
import {lstat, mkdir, readdir, readlink, rm, writeFile} from 'node:fs/promises'
import {pipeline} from 'node:stream/promises'
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

/**
 * The digest of a tree: every entry's path, type, mode, owner, size (but a
 * directory's), mtime and link target, and each file's content, in walk order. Two trees with
 * the same digest give the same commit (dracut's initramfs depends on
 * mtimes): what a cached tree is checked with before reuse.
 */
export async function treeDigest(root: string): Promise<string> {
  const digest = createHash('sha256')
  for await (const entry of walkTree(root)) {
    const {stats} = entry
    const type = stats.isFile() ? 'f' : stats.isDirectory() ? 'd' : stats.isSymbolicLink() ? 'l' : 'o'
    // A directory's size is its file system's bookkeeping (how many entries it ever held), not its content.
    digest.update(`${entry.relative}\0${type} ${stats.mode & 0o7777} ${stats.uid} ${stats.gid} ${type === 'd' ? 0 : stats.size} ${Math.floor(stats.mtimeMs)}\0`)
    if (type === 'l') digest.update(`${await readlink(entry.absolute)}\0`)
    if (type === 'f') {
      const content = createHash('sha256')
      await pipeline(createReadStream(entry.absolute), content)
      digest.update(`${content.digest('hex')}\0`)
    }
  }
  return digest.digest('hex')
}
