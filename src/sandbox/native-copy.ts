import {copyFile, mkdir} from 'node:fs/promises'
import path from 'node:path'
import {loaderAndLibraries, relink} from '../tools/elf.js'
import type {RunOptions} from '../tools/exec.js'
import type {TreeFs} from './tree-fs.js'

/** Where, in the tree's sandbox, the host's cp finds its loader and libraries: a tree of another architecture has neither. */
const NATIVE_DIR = '/run/apt-ostree/native'
/** The tree's cp, which the host's stands in for. */
const TREE_CP = '/usr/bin/cp'

/**
 * The host's cp, made to run in a tree of another architecture: a copy of
 * /usr/bin/cp that loads with a copy of its own loader and finds copies of
 * its libraries in NATIVE_DIR, all written to DIRECTORY. Under qemu-user a
 * program start costs about 50 ms against 1 ms natively, and copying bytes
 * is the same work whichever architecture's cp does it. The host's programs
 * are the tool's own; in the sandbox they have no more right than the
 * tree's code has.
 */
export async function prepareNativeCopy(directory: string, options: RunOptions = {}): Promise<void> {
  await mkdir(directory, {recursive: true, mode: 0o755})
  const {loader, libraries} = await loaderAndLibraries(TREE_CP, options)
  for (const file of [loader, ...libraries]) await copyFile(file, path.join(directory, path.basename(file)))
  const cp = path.join(directory, 'cp')
  await copyFile(TREE_CP, cp)
  await relink(cp, path.posix.join(NATIVE_DIR, path.basename(loader)), NATIVE_DIR, options)
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
