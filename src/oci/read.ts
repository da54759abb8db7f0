import {createReadStream} from 'node:fs'
import {mkdtemp, open, rm, stat, type FileHandle} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'
import tar from 'tar-stream'
import {architectureOfPlatform, hostArchitecture, type Architecture} from '../arch.js'
import {AptOstreeError, UsageError} from '../errors.js'
import {skopeoCopyToLayout} from '../tools/skopeo.js'
import {formatImageReference, type ImageReference} from './reference.js'

/** Index, manifest and config documents are a few KiB; anything this big is not one. */
const MAX_JSON_SIZE = 4 * 1024 * 1024
const REF_NAME = 'org.opencontainers.image.ref.name'
const INDEX_MEDIA_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']

/** A blob's bytes: a file, or a range of one (a blob inside an oci-archive). */
export interface BlobRange {
  file: string
  start: number
  size: number
  /** For messages: "oci:DIR blob sha256:…". */
  label: string
}

/** An OCI image layout, a directory or inside an archive: where its files are. */
export interface ImageLayout {
  /** For messages: the reference as the user gave it. */
  label: string
  /** A file of the layout ("index.json", "blobs/sha256/…"); undefined when it has none. */
  find(name: string): Promise<BlobRange | undefined>
}

export async function ociDirectory(directory: string, label: string): Promise<ImageLayout> {
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
async function ociArchive(archive: string, label: string, handle: FileHandle): Promise<ImageLayout> {
  // Every read goes through the one open file: an archive renamed over by a
  // compose writing a new one is still read whole, as it was when opened.
  const file = `/proc/self/fd/${handle.fd}`
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
    throw new AptOstreeError(`${label}: ${archive} is not an oci-archive (${(error as Error).message})`)
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

export interface Descriptor {
  mediaType?: string
  digest: string
  size?: number
  annotations?: Record<string, string>
  platform?: {architecture?: string; os?: string; variant?: string}
}

/** An image manifest as read: its layers (with their annotations), config and annotations. */
export interface Manifest {
  config?: Descriptor
  layers: Descriptor[]
  annotations?: Record<string, string>
}

/** blobs/ALGORITHM/ENCODED for a digest; anything else (a path, say) is not one. */
export function blobName(layout: ImageLayout, digest: unknown): string {
  const match = typeof digest === 'string' ? /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(digest) : null
  if (!match) throw new AptOstreeError(`${layout.label}: "${String(digest)}" is not a digest`)
  return `blobs/${match[1]}/${match[2]}`
}

export async function requireFile(layout: ImageLayout, name: string): Promise<BlobRange> {
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

/**
 * The manifest TAG names: through index.json's ref.name annotations, then,
 * if it is a platform index, ARCHITECTURE's image (the host's by default).
 */
export async function selectManifest(layout: ImageLayout, tag: string, architecture: Architecture = hostArchitecture()): Promise<{digest: string; descriptor: Descriptor; manifest: Manifest; fromIndex: boolean}> {
  const manifests = (await readJson<{manifests?: Descriptor[]}>(layout, 'index.json')).manifests ?? []
  const tags = manifests.map((manifest) => manifest.annotations?.[REF_NAME]).filter((name) => name !== undefined)
  // A layout without tags (a single untagged image) answers to any.
  let descriptor = manifests.find((manifest) => manifest.annotations?.[REF_NAME] === tag) ?? (tags.length === 0 && manifests.length === 1 ? manifests[0] : undefined)
  if (!descriptor) throw new UsageError(`${layout.label}: no image tagged "${tag}"${tags.length > 0 ? ` (the tags are: ${tags.join(', ')})` : ''}`)
  const fromIndex = INDEX_MEDIA_TYPES.includes(descriptor.mediaType ?? '')
  if (fromIndex) {
    const platforms = await indexPlatforms(layout, descriptor.digest)
    const {oci} = architecture
    descriptor = platforms.length === 1 ? platforms[0] : platforms.find((platform) => platform.platform?.os === 'linux' && platform.platform.architecture === oci.architecture)
    if (!descriptor) throw new UsageError(`${layout.label}: no image for linux/${oci.architecture} (the index has ${platforms.map((platform) => `${platform.platform?.os}/${platform.platform?.architecture}`).join(', ')})`)
  }
  const manifest = await readJson<Manifest>(layout, blobName(layout, descriptor.digest))
  if (!Array.isArray(manifest.layers)) throw new AptOstreeError(`${layout.label}: manifest ${descriptor.digest} lists no layers`)
  return {digest: descriptor.digest, descriptor, manifest, fromIndex}
}

async function indexPlatforms(layout: ImageLayout, digest: string): Promise<Descriptor[]> {
  return (await readJson<{manifests?: Descriptor[]}>(layout, blobName(layout, digest))).manifests ?? []
}

/** The architectures of the platforms of the index TAG names; undefined when it names one image. */
export async function indexArchitectures(layout: ImageLayout, tag: string): Promise<Architecture[] | undefined> {
  const manifests = (await readJson<{manifests?: Descriptor[]}>(layout, 'index.json')).manifests ?? []
  const descriptor = manifests.find((manifest) => manifest.annotations?.[REF_NAME] === tag) ?? (manifests.length === 1 ? manifests[0] : undefined)
  if (!descriptor || !INDEX_MEDIA_TYPES.includes(descriptor.mediaType ?? '')) return undefined
  return (await indexPlatforms(layout, descriptor.digest)).flatMap((platform) => (platform.platform?.os === 'linux' ? (architectureOfPlatform(platform.platform) ?? []) : []))
}

/**
 * Run `work` on an image's layout: oci: and oci-archive: are read in place;
 * containers-storage: and docker:// are first copied by skopeo into a
 * temporary oci: layout, removed afterwards.
 */
export async function withImageLayout<T>(reference: ImageReference, work: (layout: ImageLayout, tag: string) => Promise<T>, options: {allPlatforms?: boolean} = {}): Promise<T> {
  const label = formatImageReference(reference)
  if (reference.transport === 'oci') return work(await ociDirectory(reference.path, label), reference.tag)
  if (reference.transport === 'oci-archive') {
    if (!(await stat(reference.path).catch(() => undefined))?.isFile()) throw new UsageError(`${label}: ${reference.path}: no such file`)
    const handle = await open(reference.path)
    try {
      return await work(await ociArchive(reference.path, label, handle), reference.tag)
    } finally {
      await handle.close()
    }
  }
  const directory = await mkdtemp(path.join(os.tmpdir(), 'apt-ostree-image-'))
  try {
    await skopeoCopyToLayout(label, `oci:${directory}:image`, {allPlatforms: options.allPlatforms})
    return await work(await ociDirectory(directory, label), 'image')
  } finally {
    await rm(directory, {recursive: true, force: true})
  }
}

/**
 * What the config of the image TAG names says (of an index, ARCHITECTURE's
 * image): its labels, where bootc looks for containers.bootc, and its
 * architecture, undefined for one Debian does not build.
 */
export async function readImagePlatformConfig(layout: ImageLayout, tag: string, architecture?: Architecture): Promise<{labels: Record<string, string>; architecture?: Architecture}> {
  const {manifest} = await selectManifest(layout, tag, architecture)
  if (!manifest.config) throw new AptOstreeError(`${layout.label}: the manifest names no config`)
  const config = await readJson<{architecture?: string; variant?: string; config?: {Labels?: Record<string, string>}}>(layout, blobName(layout, manifest.config.digest))
  return {labels: config.config?.Labels ?? {}, architecture: architectureOfPlatform(config)}
}
