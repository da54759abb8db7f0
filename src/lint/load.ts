import {isUtf8} from 'node:buffer'
import {createReadStream, type Stats} from 'node:fs'
import {lstat, mkdtemp, open, readdir, readFile, readlink, realpath, rm, stat} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'
import tar from 'tar-stream'
import {AptOstreeError, UsageError} from '../errors.js'
import {formatImageReference, parseImageReference, type ImageReference} from '../oci/reference.js'
import {skopeoCopyToLayout} from '../tools/skopeo.js'
import {LayeredTree, type BlobRange} from './layers.js'
import type {RootKind} from './rule.js'
import type {FileTree, TreeEntry} from './tree.js'

/** Index, manifest and config documents are a few KiB; anything this big is not one. */
const MAX_JSON_SIZE = 4 * 1024 * 1024
const REF_NAME = 'org.opencontainers.image.ref.name'
const INDEX_MEDIA_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']
/** Node's process.arch as OCI (Go) names architectures. */
const OCI_ARCHITECTURES: Record<string, string> = {x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64'}
const SLASH = Buffer.from('/')
const IMAGE_FORMS = 'oci:DIR[:TAG], oci-archive:FILE[:TAG], containers-storage:NAME or docker://REGISTRY/NAME'

function entryOf(stats: Stats): TreeEntry {
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

/** An OCI image layout, a directory or inside an archive: where its files are. */
interface ImageLayout {
  /** For messages: the reference as the user gave it. */
  label: string
  /** A file of the layout ("index.json", "blobs/sha256/…"); undefined when it has none. */
  find(name: string): Promise<BlobRange | undefined>
}

async function ociDirectory(directory: string, label: string): Promise<ImageLayout> {
  if (!(await stat(directory).catch(() => undefined))?.isDirectory()) throw new UsageError(`${label}: ${directory}: no such directory`)
  return {
    label,
    async find(name) {
      const file = path.join(directory, name)
      const stats = await stat(file).catch(() => undefined)
      return stats?.isFile() ? {file, start: 0, size: stats.size, label: `${label}: ${name}`} : undefined
    },
  }
}

/**
 * An oci-archive (an uncompressed tar of a layout) read in place: one pass
 * notes where each member's bytes are, then blobs are read as ranges of the
 * file, without unpacking anything.
 */
async function ociArchive(file: string, label: string): Promise<ImageLayout> {
  if (!(await stat(file).catch(() => undefined))?.isFile()) throw new UsageError(`${label}: ${file}: no such file`)
  const members = new Map<string, BlobRange>()
  const extract = tar.extract()
  const reading = pipeline(createReadStream(file), extract)
  reading.catch(() => undefined)
  try {
    for await (const member of extract) {
      const {name, size} = member.header
      // Where the member's bytes start in the file (tar-stream notes it, its types do not).
      const start = (member.header as tar.Header & {byteOffset: number}).byteOffset
      const normalized = path.posix.normalize(name).replace(/^\.\//, '')
      members.set(normalized, {file, start, size, label: `${label}: ${normalized}`})
      member.resume()
    }
    await reading
  } catch (error) {
    throw new AptOstreeError(`${label}: ${file} is not an oci-archive (${(error as Error).message})`)
  }
  return {label, find: async (name) => members.get(name)}
}

async function readBlob(blob: BlobRange): Promise<Buffer> {
  const handle = await open(blob.file)
  try {
    const {buffer} = await handle.read(Buffer.alloc(blob.size), 0, blob.size, blob.start)
    return buffer
  } finally {
    await handle.close()
  }
}

interface Descriptor {
  mediaType?: string
  digest: string
  annotations?: Record<string, string>
  platform?: {architecture?: string; os?: string}
}

/** blobs/ALGORITHM/ENCODED for a digest; anything else (a path, say) is not one. */
function blobName(layout: ImageLayout, digest: unknown): string {
  const match = typeof digest === 'string' ? /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(digest) : null
  if (!match) throw new AptOstreeError(`${layout.label}: "${String(digest)}" is not a digest`)
  return `blobs/${match[1]}/${match[2]}`
}

async function requireFile(layout: ImageLayout, name: string): Promise<BlobRange> {
  const blob = await layout.find(name)
  if (!blob) throw new AptOstreeError(`${layout.label}: ${name} is missing`)
  return blob
}

async function readJson<T>(layout: ImageLayout, name: string): Promise<T> {
  const blob = await requireFile(layout, name)
  if (blob.size > MAX_JSON_SIZE) throw new AptOstreeError(`${layout.label}: ${name} is too large for a JSON document`)
  try {
    return JSON.parse((await readBlob(blob)).toString('utf8')) as T
  } catch {
    throw new AptOstreeError(`${layout.label}: ${name} is not valid JSON`)
  }
}

/** The manifest TAG names: through index.json's ref.name annotations, then a platform index if it is one. */
async function selectManifest(layout: ImageLayout, tag: string): Promise<{digest: string; layers: Descriptor[]}> {
  const manifests = (await readJson<{manifests?: Descriptor[]}>(layout, 'index.json')).manifests ?? []
  const tags = manifests.map((manifest) => manifest.annotations?.[REF_NAME]).filter((name) => name !== undefined)
  // A layout without tags (a single untagged image) answers to any.
  let descriptor = manifests.find((manifest) => manifest.annotations?.[REF_NAME] === tag) ?? (tags.length === 0 && manifests.length === 1 ? manifests[0] : undefined)
  if (!descriptor) throw new UsageError(`${layout.label}: no image tagged "${tag}"${tags.length > 0 ? ` (the tags are: ${tags.join(', ')})` : ''}`)
  if (INDEX_MEDIA_TYPES.includes(descriptor.mediaType ?? '')) {
    const platforms = (await readJson<{manifests?: Descriptor[]}>(layout, blobName(layout, descriptor.digest))).manifests ?? []
    const architecture = OCI_ARCHITECTURES[process.arch] ?? process.arch
    descriptor = platforms.length === 1 ? platforms[0] : platforms.find((platform) => platform.platform?.os === 'linux' && platform.platform.architecture === architecture)
    if (!descriptor) throw new UsageError(`${layout.label}: no image for linux/${architecture}`)
  }
  const manifest = await readJson<{layers?: Descriptor[]}>(layout, blobName(layout, descriptor.digest))
  if (!Array.isArray(manifest.layers)) throw new AptOstreeError(`${layout.label}: manifest ${descriptor.digest} lists no layers`)
  return {digest: descriptor.digest, layers: manifest.layers}
}

async function treeFromLayout(layout: ImageLayout, tag: string): Promise<FileTree> {
  const {layers} = await selectManifest(layout, tag)
  const blobs = await Promise.all(layers.map(async (layer) => ({...(await requireFile(layout, blobName(layout, layer.digest))), label: `${layout.label}: layer ${layer.digest}`})))
  const tree = new LayeredTree()
  for (const [index, blob] of blobs.entries()) await tree.applyLayer(index, blob)
  await tree.fillLintInputs(blobs)
  return tree.tree
}

/**
 * The filesystem of an image, its layers applied in order. oci: and
 * oci-archive: are read in place; containers-storage: and docker:// are
 * first copied by skopeo into a temporary oci: layout.
 */
export async function treeFromImage(image: string | ImageReference): Promise<FileTree> {
  const reference = typeof image === 'string' ? parseImageReference(image) : image
  const label = formatImageReference(reference)
  switch (reference.transport) {
    case 'oci':
      return treeFromLayout(await ociDirectory(reference.path, label), reference.tag)
    case 'oci-archive':
      return treeFromLayout(await ociArchive(reference.path, label), reference.tag)
    case 'containers-storage':
    case 'docker': {
      const directory = await mkdtemp(path.join(os.tmpdir(), 'apt-ostree-lint-'))
      try {
        await skopeoCopyToLayout(label, `oci:${directory}:image`)
        return await treeFromLayout(await ociDirectory(directory, label), 'image')
      } finally {
        await rm(directory, {recursive: true, force: true})
      }
    }
  }
}

export interface LintTarget {
  tree: FileTree
  rootKind: RootKind
}

/**
 * What `container lint TARGET` names: a directory (a rootfs; `/` is the
 * running system, as bootc has it) or, with a transport prefix, an image.
 */
export async function loadLintTarget(target: string): Promise<LintTarget> {
  const stats = await stat(target).catch(() => undefined)
  if (stats?.isDirectory()) return {tree: await treeFromDirectory(target), rootKind: (await realpath(target)) === '/' ? 'running' : 'rootfs'}
  if (/^[a-z][a-z0-9-]*:/.test(target)) return {tree: await treeFromImage(target), rootKind: 'image'}
  throw new UsageError(`${target}: ${stats ? 'not a directory' : 'no such directory'} (an image is given as ${IMAGE_FORMS})`)
}
