import {createHash} from 'node:crypto'
import {createReadStream, type Stats} from 'node:fs'
import {chown, lstat, mkdir, readdir, readlink, rm, writeFile} from 'node:fs/promises'
import {pipeline} from 'node:stream/promises'
import path from 'node:path'
import {UsageError} from './errors.js'

/** Whether FILE is DIRECTORY or below it, by name (links are the caller's to resolve). */
export function isWithin(directory: string, file: string): boolean {
  const relative = path.relative(directory, file)
  return relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative)
}

/** Whether FILE is below DIRECTORY (not DIRECTORY itself). */
export function insideDirectory(directory: string, file: string): boolean {
  return file !== directory && isWithin(directory, file)
}

/** Whether a directory entry exists (a link counts as itself, not followed). */
export function pathExists(file: string): Promise<boolean> {
  return lstat(file).then(() => true, () => false)
}

/**
 * Fail early when OUTPUT cannot be written, making nothing: its nearest
 * existing ancestor must be a directory a probe file can be written in
 * (access(2) says yes to root on immutable dirs). The writer makes the
 * missing directories once it has something to write. `what` names the
 * output in the message.
 */
export async function assertWritable(output: string, what: string): Promise<void> {
  try {
    await probeDirectory(await nearestExisting(path.dirname(path.resolve(output))))
  } catch (error) {
    throw new UsageError(`${what}: cannot write it there (${whyUnwritable(error)})`)
  }
}

/** The path itself if it exists, else its nearest ancestor that does. */
export async function nearestExisting(file: string): Promise<string> {
  let existing = path.resolve(file)
  while (!(await pathExists(existing))) existing = path.dirname(existing)
  return existing
}

/** Write and remove a probe file in DIRECTORY: the one sure test that it can be written. */
export async function probeDirectory(directory: string): Promise<void> {
  const probe = path.join(directory, `.apt-ostree-probe-${process.pid}`)
  await writeFile(probe, '', {flag: 'wx'})
  await rm(probe)
}

/** Why a path could not be written, in a user's words. */
export function whyUnwritable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'EROFS') return 'read-only file system'
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied'
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'a parent is not a directory'
  if (code === 'ENOSPC') return 'no space left on device'
  return code ?? (error as Error).message
}

/** DIRECTORY made (with its parents) and given to OWNER, when there is one: a directory the host makes for the sandbox to write. */
export async function makeOwnedDirectory(directory: string, owner: {uid: number; gid: number} | undefined): Promise<string> {
  await mkdir(directory, {recursive: true})
  if (owner) await chown(directory, owner.uid, owner.gid)
  return directory
}

/** Write an output file (made by the steps assertWritable checked), its directory made if need be. */
export async function writeOutput(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), {recursive: true})
  await writeFile(file, text)
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
