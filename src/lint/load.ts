import {isUtf8} from 'node:buffer'
import type {Stats} from 'node:fs'
import {lstat, readdir, readFile, readlink, realpath, stat} from 'node:fs/promises'
import path from 'node:path'
import type {Architecture} from '../arch.js'
import {UsageError} from '../errors.js'
import {indexArchitectures, selectManifest, withBlob, withImageLayout, type ImageLayout} from '../oci/read.js'
import {parseImageReference, type ImageReference} from '../oci/reference.js'
import {LayeredTree, type LayerReader} from '../oci/apply.js'
import {isLintInput} from './rules/index.js'
import type {RootKind} from './rule.js'
import type {FileTree, FileTreeEntry} from '../file-tree.js'

const SLASH = Buffer.from('/')
const IMAGE_FORMS = 'oci:DIR[:TAG], oci-archive:FILE[:TAG], containers-storage:NAME or docker://REGISTRY/NAME'

function entryOf(stats: Stats): FileTreeEntry {
  const type = stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : stats.isSymbolicLink() ? 'symlink' : 'other'
  return {type, mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, size: type === 'file' ? stats.size : 0}
}

/**
 * Add what is below `directory` (bytes, so names that are not UTF-8 keep
 * theirs) to the tree under `key`. Like bootc's walk it stays on one file
 * system: a mount point is listed, not entered (/proc when linting `/`).
 */
async function walkDirectory(tree: FileTree, directory: Buffer, key: string, device: number): Promise<void> {
  const names = await readdir(directory, {encoding: 'buffer'})
  // "/" already ends in the separator.
  const prefix = directory.at(-1) === SLASH[0] ? directory : Buffer.concat([directory, SLASH])
  const children = await Promise.all(
    names.map(async (name) => {
      const file = Buffer.concat([prefix, name])
      return {name, file, stats: await lstat(file)}
    }),
  )
  for (const {name, file, stats} of children) {
    const childKey = `${key === '/' ? '' : key}/${name.toString('utf8')}`
    const entry = entryOf(stats)
    let validUtf8 = isUtf8(name)
    if (entry.type === 'symlink') {
      const target = await readlink(file, {encoding: 'buffer'})
      entry.target = target.toString('utf8')
      validUtf8 &&= isUtf8(target)
    }
    if (!validUtf8) entry.invalidUtf8 = true
    if (entry.type === 'file') entry.read = () => readFile(file)
    tree.set(childKey, entry)
    if (entry.type === 'directory' && stats.dev === device) await walkDirectory(tree, file, childKey, device)
  }
}

/** A rootfs directory as a FileTree; file content is read when a rule asks for it. */
export async function treeFromDirectory(directory: string): Promise<FileTree> {
  const stats = await stat(directory).catch(() => undefined)
  if (!stats?.isDirectory()) throw new UsageError(`${directory}: no such directory`)
  const tree: FileTree = new Map([['/', entryOf(stats)]])
  await walkDirectory(tree, Buffer.from(path.resolve(directory)), '/', stats.dev)
  return tree
}

async function treeFromLayout(layout: ImageLayout, tag: string, architecture?: Architecture): Promise<FileTree> {
  const {layers} = (await selectManifest(layout, tag, architecture)).manifest
  const read: LayerReader = (index, use) => withBlob(layout, 'layer', layers[index], use)
  const tree = new LayeredTree(isLintInput)
  for (const index of layers.keys()) await read(index, (blob) => tree.applyLayer(index, blob))
  await tree.fillKeptFiles(read)
  return tree.tree
}

/**
 * The filesystem of an image, its layers applied in order (of an index,
 * the host's platform's image). oci: and oci-archive: are read in place;
 * containers-storage: and docker:// are first copied by skopeo into a
 * temporary oci: layout.
 */
export async function treeFromImage(image: string | ImageReference): Promise<FileTree> {
  return withImageLayout(typeof image === 'string' ? parseImageReference(image) : image, (layout, tag) => treeFromLayout(layout, tag))
}

export interface LintTarget {
  tree: FileTree
  rootKind: RootKind
  /** Of an image index: the platform's architecture (dpkg's name). */
  architecture?: string
}

/**
 * What `container lint TARGET` names: a directory (a rootfs; `/` is the
 * running system, as bootc has it) or, with a transport prefix, an image:
 * of an index, each platform's image (or only ARCHITECTURE's), one target each.
 */
export async function loadLintTargets(target: string, architecture?: Architecture): Promise<LintTarget[]> {
  const stats = await stat(target).catch(() => undefined)
  if (stats?.isDirectory()) {
    if (architecture) throw new UsageError(`--arch is for an image index; ${target} is a directory`)
    return [{tree: await treeFromDirectory(target), rootKind: (await realpath(target)) === '/' ? 'running' : 'rootfs'}]
  }
  if (!/^[a-z][a-z0-9-]*:/.test(target)) throw new UsageError(`${target}: ${stats ? 'not a directory' : 'no such directory'} (an image is given as ${IMAGE_FORMS})`)
  return withImageLayout(
    parseImageReference(target),
    async (layout, tag) => {
      const platforms = await indexArchitectures(layout, tag)
      if (!platforms) {
        if (architecture) throw new UsageError(`--arch is for an image index; ${target} is one image`)
        return [{tree: await treeFromLayout(layout, tag), rootKind: 'image'}]
      }
      const chosen = architecture ? platforms.filter((each) => each.debian === architecture.debian) : platforms
      if (chosen.length === 0) throw new UsageError(`${target}: the index has no ${architecture!.debian} image (it has ${platforms.map((each) => each.debian).join(', ')})`)
      const targets: LintTarget[] = []
      for (const each of chosen) targets.push({tree: await treeFromLayout(layout, tag, each), rootKind: 'image', architecture: each.debian})
      return targets
    },
    {allPlatforms: true},
  )
}
