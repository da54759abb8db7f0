import {chmod, copyFile, mkdir} from 'node:fs/promises'
import path from 'node:path'
import {loaderAndLibraries, relink} from '../tools/elf.js'
import type {RunOptions} from '../tools/exec.js'
import type {TreeFs} from './tree-fs.js'

/** Where, in a tree of another architecture, the host's programs find their loader and libraries: the tree has neither. */
export const NATIVE_DIR = '/run/apt-ostree/native'

/**
 * What dpkg starts to read a .deb: dpkg-deb, which decompresses its data
 * member (--fsys-tarfile), and the tar it runs for the control member
 * (--control). Both only move bytes: the tree gets the same files from any
 * version of them, and dpkg itself, the tree's, still does the unpacking.
 */
export const DEB_READERS = ['/usr/bin/dpkg-deb', '/usr/bin/tar']

/**
 * The tree's programs that the host's stand in for in dracut's job, those
 * it starts most, counted (strace) for the minimal arm64 initramfs: cp 1 691
 * times (dracut-install, for each file it cannot clone), bash for dracut
 * itself and 196 times for ldd, a bash script, sed 164, grep 108, mkdir 62.
 * They interpret dracut's scripts and copy files; none of them goes into the
 * initramfs, which dracut fills from the tree bound again (--sysroot). The
 * tree's uname, loader (ldd's --list), dracut-install, cpio and gzip stay
 * emulated: they say the architecture, resolve the tree's libraries, or
 * write the initramfs's bytes.
 */
export const DRACUT_STAND_INS = ['/usr/bin/cp', '/usr/bin/bash', '/usr/bin/sed', '/usr/bin/grep', '/usr/bin/mkdir']

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

/**
 * The read-only binds that put DIRECTORY's programs (a path inside the
 * sandbox, prepared for PROGRAMS) over the tree's: what the tree's programs
 * run by those paths, and what they read there too. A job that copies one of
 * those files somewhere (dracut does) must read the tree from a second bind.
 */
export function standInBinds(directory: string, programs: string[]): Array<[string, string]> {
  return [[directory, NATIVE_DIR], ...programs.map((program): [string, string] => [path.posix.join(directory, path.basename(program)), program])]
}

/**
 * Those of PROGRAMS that are plain files at that very path in TREE, which a
 * bind can cover: a bind over a missing file would create it in the tree,
 * and one through a link of the tree would land elsewhere.
 */
export async function coverablePrograms(tree: TreeFs, programs: string[]): Promise<string[]> {
  const coverable: string[] = []
  for (const program of programs) {
    if ((await tree.lstat(program))?.isFile() === true && (await tree.resolve(program)) === path.join(tree.root, program)) coverable.push(program)
  }
  return coverable
}
