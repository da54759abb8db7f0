import {createHash} from 'node:crypto'
import path from 'node:path'
import {commitPathMapper, fileOwners, packageOfListFile} from '../dpkg/ownership.js'
import type {FileTree} from '../file-tree.js'
import {DPKG_DATABASE} from '../ostree/layout.js'
import type {CommitEntry, CommitTree} from '../ostree/tree.js'
import {parseColonFile, parseTmpfilesLine} from '../system-files.js'
import {INITRAMFS, UNPACKAGED, type Component, type Packing} from './chunking.js'

/** One path of the image, as a layer will hold it. */
export interface ImageEntry {
  /** Relative, no leading slash: "etc/passwd", "usr/bin/bash". */
  name: string
  type: 'file' | 'directory' | 'symlink'
  mode: number
  uid: number
  gid: number
  size: number
  target?: string
  xattrs: Array<[string, Buffer]>
  /** The commit entry a file's content comes from. */
  source?: CommitEntry
  /** Package (or INITRAMFS, UNPACKAGED) the path belongs to. */
  component: string
}

export interface ImageContent {
  /** Sorted by name. */
  entries: ImageEntry[]
  components: Component[]
}

/**
 * Package files the compose rewrites every build (mutate-os-release puts the
 * version in os-release): with the compose's own files, or base-files' layer
 * would change in every build.
 */
const COMPOSE_WRITTEN = new Set(['/usr/lib/os-release'])

/** Commit path → image path: the commit's /usr/etc is the image's /etc. */
function imageName(commitPath: string): string {
  const relative = commitPath.slice(1)
  return relative === 'usr/etc' || relative.startsWith('usr/etc/') ? relative.slice(4) : relative
}

async function textOf(tree: CommitTree, byPath: Map<string, CommitEntry>, file: string): Promise<string> {
  const entry = byPath.get(file)
  return entry?.type === 'file' ? (await tree.readFile(entry)).toString('utf8') : ''
}

/**
 * Every path of the image with its owning component: the commit's tree
 * (usr/etc written as etc) plus the /var skeleton its tmpfiles.d declares,
 * so `podman run` and a Containerfile's `apt-get install` find the dpkg
 * link and apt's directories without a boot.
 */
export async function imageContent(tree: CommitTree): Promise<ImageContent> {
  const byPath = new Map(tree.entries.map((entry) => [entry.path, entry]))
  const toplevelLinks = new Map<string, string>()
  for (const entry of tree.entries) {
    if (entry.type === 'symlink' && path.posix.dirname(entry.path) === '/') toplevelLinks.set(entry.path.slice(1), entry.target!)
  }
  const infoDir = `/${DPKG_DATABASE}/info`
  const lists = new Map<string, string[]>()
  for (const entry of tree.entries) {
    const pkg = path.posix.dirname(entry.path) === infoDir ? packageOfListFile(path.posix.basename(entry.path)) : undefined
    if (pkg && entry.type === 'file') lists.set(pkg, (await tree.readFile(entry)).toString('utf8').split('\n').filter(Boolean))
  }
  const owners = fileOwners({lists, diversions: await textOf(tree, byPath, `/${DPKG_DATABASE}/diversions`)}, commitPathMapper(toplevelLinks))

  const entries: ImageEntry[] = []
  const sizes = new Map<string, number>()
  for (const entry of tree.entries) {
    if (entry.path === '/' || entry.path.startsWith('/var/')) continue
    const component = /^\/usr\/lib\/modules\/[^/]+\/initramfs\.img$/.test(entry.path) ? INITRAMFS : COMPOSE_WRITTEN.has(entry.path) ? UNPACKAGED : (owners.get(entry.path) ?? UNPACKAGED)
    const {type, mode, uid, gid, size, target, xattrs} = entry
    entries.push({name: imageName(entry.path), type, mode, uid, gid, size, target, xattrs, source: type === 'file' ? entry : undefined, component})
    sizes.set(component, (sizes.get(component) ?? 0) + size)
  }
  entries.push(...(await varSkeleton(tree, byPath)))
  sizes.set(UNPACKAGED, sizes.get(UNPACKAGED) ?? 0)
  entries.sort((a, b) => compareNames(a.name, b.name))
  return {entries, components: [...sizes].map(([name, size]) => ({name, size}))}
}

/** Byte order of UTF-8 names, as `tar --sort=name` orders them. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

/** Entries of each layer of PACKING: its own paths plus every parent directory, sorted. */
export function layerEntries(entries: ImageEntry[], packing: Packing): ImageEntry[][] {
  const binOf = new Map<string, number>()
  packing.forEach((names, bin) => names.forEach((name) => binOf.set(name, bin)))
  const directories = new Map(entries.filter((entry) => entry.type === 'directory').map((entry) => [entry.name, entry]))
  const layers = packing.map(() => new Map<string, ImageEntry>())
  for (const entry of entries) {
    const layer = layers[binOf.get(entry.component) ?? packing.length - 1]
    for (let parent = path.posix.dirname(entry.name); parent !== '.' && !layer.has(parent); parent = path.posix.dirname(parent)) {
      const directory = directories.get(parent)
      if (directory) layer.set(parent, directory)
    }
    layer.set(entry.name, entry)
  }
  return layers.map((layer) => [...layer.values()].sort((a, b) => compareNames(a.name, b.name)))
}

/**
 * What a layer's bytes are a function of: its entries (content by ostree
 * checksum) and the files' mtime; the layer writer (tar.ts) is
 * deterministic, so two layers with the same fingerprint and compression
 * have the same digest, and a changed fingerprint is a changed layer.
 */
export function layerFingerprint(entries: ImageEntry[], mtime: number): string {
  const hash = createHash('sha256').update(`mtime ${mtime}\n`)
  for (const entry of entries) {
    const xattrs = entry.xattrs.map(([name, value]) => [name, value.toString('base64')])
    hash.update(JSON.stringify([entry.name, entry.type, entry.mode, entry.uid, entry.gid, entry.size, entry.source?.checksum ?? null, entry.target ?? null, xattrs]) + '\n')
  }
  return hash.digest('hex')
}

const DIRECTORY_TYPES = new Set(['d', 'D', 'v', 'q', 'Q'])

/**
 * The directories and links under /var that tmpfiles.d declares with a
 * literal path, whose parents are declared too (so bootc's var-tmpfiles lint
 * finds a line for every one). The first declaration of a path wins, files
 * read in name order with /etc's overriding /usr/lib's, as systemd-tmpfiles does.
 */
async function varSkeleton(tree: CommitTree, byPath: Map<string, CommitEntry>): Promise<ImageEntry[]> {
  const accounts = async (file: string): Promise<Map<string, number>> => new Map(parseColonFile(await textOf(tree, byPath, file)).map(([name, , id]) => [name, Number(id)]))
  const [users, groups] = [await accounts('/usr/etc/passwd'), await accounts('/usr/etc/group')]
  const confs = new Map<string, CommitEntry>()
  for (const directory of ['/usr/lib/tmpfiles.d', '/usr/etc/tmpfiles.d']) {
    for (const entry of tree.entries) {
      if (path.posix.dirname(entry.path) === directory && entry.path.endsWith('.conf')) confs.set(path.posix.basename(entry.path), entry)
    }
  }
  const declared = new Map<string, ImageEntry>()
  for (const name of [...confs.keys()].sort()) {
    for (const text of (await tree.readFile(confs.get(name)!)).toString('utf8').split('\n')) {
      const line = parseTmpfilesLine(text)
      const target = line?.path
      if (!line || !target?.startsWith('/var/') || /[*?[]/.test(target) || declared.has(target)) continue
      const uid = line.user === '-' ? 0 : users.get(line.user)
      const gid = line.group === '-' ? 0 : groups.get(line.group)
      if (uid === undefined || gid === undefined) continue
      const kind = line.type.replace(/[!+-=~^]+$/, '')
      const base = {name: target.slice(1).replace(/\/+$/, ''), uid, gid, size: 0, xattrs: [], component: UNPACKAGED}
      if (DIRECTORY_TYPES.has(kind)) {
        const octal = /^\d{3,4}$/.test(line.mode) ? parseInt(line.mode, 8) : 0o755
        declared.set(target, {...base, type: 'directory', mode: octal})
      } else if (kind === 'L' && line.argument !== '' && line.argument !== '-') {
        declared.set(target, {...base, type: 'symlink', mode: 0o777, uid: 0, gid: 0, target: line.argument})
      }
    }
  }
  const kept = new Set<string>(['var'])
  const skeleton: ImageEntry[] = []
  for (const entry of [...declared.values()].sort((a, b) => compareNames(a.name, b.name))) {
    if (!kept.has(path.posix.dirname(entry.name))) continue
    if (entry.type === 'directory') kept.add(entry.name)
    skeleton.push(entry)
  }
  return skeleton
}

/** The image as the lint rules see it. */
export function imageFileTree(tree: CommitTree, content: ImageContent): FileTree {
  const files: FileTree = new Map()
  files.set('/', {type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0})
  for (const entry of content.entries) {
    const {source} = entry
    files.set('/' + entry.name, {
      type: entry.type,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      size: entry.size,
      target: entry.target,
      read: source ? () => tree.readFile(source) : undefined,
    })
  }
  return files
}
