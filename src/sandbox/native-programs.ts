import {chmod, copyFile, mkdir} from 'node:fs/promises'
import path from 'node:path'
import {loaderAndLibraries, relink} from '../tools/elf.js'
import type {RunOptions} from '../tools/exec.js'
import type {TreeFs} from './tree-fs.js'

/** Where, in a tree of another architecture, the host's programs find their loader and libraries: the tree has neither. */
export const NATIVE_DIR = '/run/apt-ostree/native'
/** The tree's cp, which the host's stands in for in dracut's job. */
const TREE_CP = '/usr/bin/cp'
/**
 * What dpkg starts to read a .deb: dpkg-deb, which decompresses its data
 * member (--fsys-tarfile), and the tar it runs for the control member
 * (--control). Both only move bytes: the tree gets the same files from any
 * version of them, and dpkg itself, the tree's, still does the unpacking.
 */
export const DEB_READERS = ['/usr/bin/dpkg-deb', '/usr/bin/tar']

/**
 * The host's PROGRAMS, made to run in a tree of another architecture as
 * NATIVE_DIR/<name>: copies of them that load with a copy of their loader
 * and find copies of their libraries in NATIVE_DIR, all written to
 * DIRECTORY. Under qemu-user a program start costs about 50 ms against 1 ms
 * natively, and its computation runs several times slower. The host's
 * programs are the tool's own; in the sandbox they have no more right than
 * the tree's code has.
 */
export async function prepareNativePrograms(directory: string, programs: string[], options: RunOptions = {}): Promise<void> {
  await mkdir(directory, {recursive: true})
  // Read by the sandbox's users; mkdtemp makes 0700.
  await chmod(directory, 0o755)
  const files = new Set<string>()
  let loader = ''
  for (const program of programs) {
    const needs = await loaderAndLibraries(program, options)
    loader = needs.loader
    for (const file of [needs.loader, ...needs.libraries]) files.add(file)
  }
  for (const file of files) await copyFile(file, path.join(directory, path.basename(file)))
  for (const program of programs) {
    const copy = path.join(directory, path.basename(program))
    await copyFile(program, copy)
    await relink(copy, path.posix.join(NATIVE_DIR, path.basename(loader)), NATIVE_DIR, options)
  }
}

/** The host's cp for dracut's job, written to DIRECTORY (see prepareNativePrograms). */
export async function prepareNativeCopy(directory: string, options: RunOptions = {}): Promise<void> {
  await prepareNativePrograms(directory, [TREE_CP], options)
}

/**
 * The read-only binds that put DIRECTORY's cp (a path inside the sandbox)
 * over the tree's: what the tree's programs run as `cp`, and what they read
 * as /usr/bin/cp too. A job that copies the tree's /usr/bin/cp somewhere
 * (dracut does) must read the tree from a second bind instead.
 */
export function nativeCopyBinds(directory: string): Array<[string, string]> {
  return [[directory, NATIVE_DIR], [path.posix.join(directory, 'cp'), TREE_CP]]
}

/**
 * Whether TREE's /usr/bin/cp is a plain file at that very path, which a bind
 * can cover: a bind over a missing file would create it in the tree, and one
 * through a link of the tree would land elsewhere.
 */
export async function canCoverTreeCopy(tree: TreeFs): Promise<boolean> {
  return (await tree.lstat(TREE_CP))?.isFile() === true && (await tree.resolve(TREE_CP)) === path.join(tree.root, TREE_CP)
}
