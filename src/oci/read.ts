import {createHash} from 'node:crypto'
import {constants} from 'node:fs'
import {mkdtemp, open, rm, stat, type FileHandle} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {pipeline as pipe, Readable, Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import tar from 'tar-stream'
import {architectureOfPlatform, hostArchitecture, type Architecture} from '../arch.js'
import {AptOstreeError, UsageError} from '../errors.js'
import {openConfinedIfPresent} from '../sandbox/confined-open.js'
import {quoted} from '../text.js'
import {skopeoCopyToLayout} from '../tools/skopeo.js'
import {formatImageReference, type ImageReference} from './reference.js'

/** Index, manifest and config documents are a few KiB; anything this big is not one. */
const MAX_JSON_SIZE = 4 * 1024 * 1024
const REF_NAME = 'org.opencontainers.image.ref.name'
const INDEX_MEDIA_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']
/** The digest algorithms OCI registers, with the length of their hex: the ones a blob can be checked against. */
const DIGEST_HEX_LENGTHS = new Map([
  ['sha256', 64],
  ['sha512', 128],
])

/** A file of a layout, open: where its bytes are in the open file. */
export interface LayoutFile {
  handle: FileHandle
  start: number
  size: number
  /** Closes what opening it opened (an archive's member leaves the archive open). */
  close(): Promise<void>
}

/** An OCI image layout, a directory or inside an archive: where its files are. */
export interface ImageLayout {
  /** For messages: the reference as the user gave it. */
  label: string
  /**
   * The layout's file NAME ("index.json", "blobs/sha256/…", names this code
   * makes, never the image), open and a regular file (a directory's through
   * the confined resolver: no link followed, no FIFO waited on); undefined
   * when the layout has none.
   */
  open(name: string): Promise<LayoutFile | undefined>
}

export async function ociDirectory(directory: string, label: string): Promise<ImageLayout> {
  // The directory itself is the user's choice, followed as they named it; what is in it is the image's.
  if (!(await stat(directory).catch(() => undefined))?.isDirectory()) throw new UsageError(`${label}: ${directory}: no such directory`)
  return {
    label,
    async open(name) {
      const handle = await openConfinedIfPresent(directory, name, label)
      return handle && {handle, start: 0, size: (await handle.stat()).size, close: () => handle.close()}
    },
  }
}

/**
 * An oci-archive (an uncompressed tar of a layout) read in place: one pass
 * notes where each regular member's bytes are, then blobs are read as ranges
 * of the open archive, without unpacking anything.
 */
async function ociArchive(archive: string, label: string, handle: FileHandle): Promise<ImageLayout> {
  // Every read goes through the one open file: an archive renamed over by a
  // compose writing a new one is still read whole, as it was when opened.
  const members = new Map<string, {start: number; size: number}>()
  const extract = tar.extract()
  const reading = pipeline(handle.createReadStream({start: 0, autoClose: false}), extract)
  reading.catch(() => undefined)
  try {
    for await (const member of extract) {
      const {name, size = 0, type} = member.header
      // Where the member's bytes start in the file (tar-stream notes it, its types do not).
      const start = (member.header as tar.Header & {byteOffset: number}).byteOffset
      // A link, FIFO or device member has no bytes of its own: the layout does not have that file.
      if (type === 'file' || type === 'contiguous-file') members.set(path.posix.normalize(name).replace(/^\.\//, ''), {start, size})
      member.resume()
    }
    await reading
  } catch (error) {
    throw new AptOstreeError(`${label}: ${archive} is not an oci-archive (${(error as Error).message})`)
  }
  return {
    label,
    async open(name) {
      const member = members.get(name)
      return member && {handle, ...member, close: async () => undefined}
    },
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

/** What a blob is read through: its bytes hashed as they are read, and checked against its descriptor at the end. */
export interface OpenBlob {
  /** For messages: "oci:DIR:TAG: layer sha256:…". */
  label: string
  size: number
  /** The first bytes, to tell how it is compressed: only looked at, not trusted. */
  head(length: number): Promise<Buffer>
  /** All of its bytes; the stream fails at its end unless they hash to the digest. */
  stream(): Readable
}

/** The digest and size of a descriptor, checked as data: a digest becomes a file name only as ALGORITHM/HEX. */
function checkedDescriptor(layout: ImageLayout, what: string, descriptor: unknown): {digest: string; algorithm: string; hex: string; size: number} {
  const {digest, size} = (descriptor ?? {}) as {digest?: unknown; size?: unknown}
  const [, algorithm = '', hex = ''] = (typeof digest === 'string' && /^([a-z0-9]+):([0-9a-f]+)$/.exec(digest)) || []
  if (hex.length !== DIGEST_HEX_LENGTHS.get(algorithm)) throw new AptOstreeError(`${layout.label}: ${what} ${quoted(String(digest))} is not a digest (sha256: or sha512: and the hex digits of the hash)`)
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new AptOstreeError(`${layout.label}: ${what} ${digest as string} has no size`)
  return {digest: digest as string, algorithm, hex, size}
}

/** The bytes passed on, hashed and counted; at their end, an error unless they are what the descriptor names. */
function verifying(label: string, algorithm: string, hex: string, size: number): Transform {
  const hash = createHash(algorithm)
  let read = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk)
      read += chunk.length
      callback(null, chunk)
    },
    flush(callback) {
      callback(read === size && hash.digest('hex') === hex ? null : new AptOstreeError(`${label}: its content does not match its digest`))
    },
  })
}

/**
 * The one way to a layout's blob: the descriptor's digest checked as data
 * before it names a file, the file opened as a regular file (no link, no
 * FIFO, no device), its size the descriptor's, and its bytes hashed as
 * `use` reads them. WHAT names the blob in messages ("layer", "manifest").
 */
export async function withBlob<T>(layout: ImageLayout, what: string, descriptor: unknown, use: (blob: OpenBlob) => Promise<T>): Promise<T> {
  const {digest, algorithm, hex, size} = checkedDescriptor(layout, what, descriptor)
  const name = `blobs/${algorithm}/${hex}`
  const file = await layout.open(name)
  if (!file) throw new AptOstreeError(`${layout.label}: ${name} is missing`)
  const label = `${layout.label}: ${what} ${digest}`
  try {
    if (file.size !== size) throw new AptOstreeError(`${label}: ${file.size} bytes, where its descriptor says ${size}`)
    return await use({
      label,
      size,
      async head(length) {
        const {buffer, bytesRead} = await file.handle.read(Buffer.alloc(Math.min(length, size)), 0, Math.min(length, size), file.start)
        return buffer.subarray(0, bytesRead)
      },
      stream() {
        const bytes = Readable.from(rangeOf(file.handle, file.start, size))
        // The callback form returns the last stream; an error on the way destroys it with that error.
        return pipe(bytes, verifying(label, algorithm, hex, size), () => undefined)
      },
    })
  } finally {
    await file.close()
  }
}

/** How much of a blob one read takes. */
const READ_CHUNK = 1024 * 1024

/**
 * SIZE bytes of HANDLE from START, read by position. A file stream would
 * add a close listener to the handle for each blob, and an oci-archive's
 * members all share the archive's one handle (64 layers: Node's warning of
 * a listener leak on stderr). A file shorter than SIZE ends the bytes early,
 * and the digest check says so.
 */
async function* rangeOf(handle: FileHandle, start: number, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < size; ) {
    const length = Math.min(READ_CHUNK, size - offset)
    const {buffer, bytesRead} = await handle.read(Buffer.alloc(length), 0, length, start + offset)
    if (bytesRead === 0) return
    yield buffer.subarray(0, bytesRead)
    offset += bytesRead
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** BYTES as JSON; LABEL names them in the message. */
function parseJson<T>(label: string, bytes: Buffer): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T
  } catch {
    throw new AptOstreeError(`${label} is not valid JSON`)
  }
}

/** index.json: the one file of a layout no digest names, opened as its blobs are; undefined when the layout has none. */
export async function readLayoutIndex(layout: ImageLayout): Promise<{manifests?: Descriptor[]} | undefined> {
  const file = await layout.open('index.json')
  if (!file) return undefined
  try {
    if (file.size > MAX_JSON_SIZE) throw new AptOstreeError(`${layout.label}: index.json is too large for a JSON document`)
    const {buffer, bytesRead} = await file.handle.read(Buffer.alloc(file.size), 0, file.size, file.start)
    return parseJson(`${layout.label}: index.json`, buffer.subarray(0, bytesRead))
  } finally {
    await file.close()
  }
}

async function readIndex(layout: ImageLayout): Promise<{manifests?: Descriptor[]}> {
  const index = await readLayoutIndex(layout)
  if (!index) throw new AptOstreeError(`${layout.label}: index.json is missing`)
  return index
}

/** A JSON blob (an index, a manifest, a config), read whole and checked before it is parsed. */
async function readJson<T>(layout: ImageLayout, what: string, descriptor: unknown): Promise<T> {
  return withBlob(layout, what, descriptor, async (blob) => {
    if (blob.size > MAX_JSON_SIZE) throw new AptOstreeError(`${blob.label} is too large for a JSON document`)
    return parseJson<T>(blob.label, await readAll(blob.stream()))
  })
}

/**
 * The manifest TAG names: through index.json's ref.name annotations, then,
 * if it is a platform index, ARCHITECTURE's image (the host's by default).
 */
export async function selectManifest(layout: ImageLayout, tag: string, architecture: Architecture = hostArchitecture()): Promise<{digest: string; descriptor: Descriptor; manifest: Manifest; fromIndex: boolean}> {
  const manifests = (await readIndex(layout)).manifests ?? []
  const tags = manifests.map((manifest) => manifest.annotations?.[REF_NAME]).filter((name) => name !== undefined)
  // A layout without tags (a single untagged image) answers to any.
  let descriptor = manifests.find((manifest) => manifest.annotations?.[REF_NAME] === tag) ?? (tags.length === 0 && manifests.length === 1 ? manifests[0] : undefined)
  if (!descriptor) throw new UsageError(`${layout.label}: no image tagged "${tag}"${tags.length > 0 ? ` (the tags are: ${tags.map((name) => quoted(String(name))).join(', ')})` : ''}`)
  const fromIndex = INDEX_MEDIA_TYPES.includes(descriptor.mediaType ?? '')
  if (fromIndex) {
    const platforms = await indexPlatforms(layout, descriptor)
    const {oci} = architecture
    descriptor = platforms.length === 1 ? platforms[0] : platforms.find((platform) => platform.platform?.os === 'linux' && platform.platform.architecture === oci.architecture)
    if (!descriptor) throw new UsageError(`${layout.label}: no image for linux/${oci.architecture} (the index has ${platforms.map((platform) => quoted(`${platform.platform?.os}/${platform.platform?.architecture}`)).join(', ')})`)
  }
  const manifest = await readJson<Manifest>(layout, 'manifest', descriptor)
  if (!Array.isArray(manifest.layers)) throw new AptOstreeError(`${layout.label}: manifest ${descriptor.digest} lists no layers`)
  return {digest: descriptor.digest, descriptor, manifest, fromIndex}
}

async function indexPlatforms(layout: ImageLayout, index: Descriptor): Promise<Descriptor[]> {
  return (await readJson<{manifests?: Descriptor[]}>(layout, 'index', index)).manifests ?? []
}

/** The architectures of the platforms of the index TAG names; undefined when it names one image. */
export async function indexArchitectures(layout: ImageLayout, tag: string): Promise<Architecture[] | undefined> {
  const manifests = (await readIndex(layout)).manifests ?? []
  const descriptor = manifests.find((manifest) => manifest.annotations?.[REF_NAME] === tag) ?? (manifests.length === 1 ? manifests[0] : undefined)
  if (!descriptor || !INDEX_MEDIA_TYPES.includes(descriptor.mediaType ?? '')) return undefined
  return (await indexPlatforms(layout, descriptor)).flatMap((platform) => (platform.platform?.os === 'linux' ? (architectureOfPlatform(platform.platform) ?? []) : []))
}

/** The oci-archive FILE, opened and then checked to be a regular file: the check is of what is read, and a FIFO is not waited on. */
async function openArchive(file: string, label: string): Promise<FileHandle> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY).catch(() => undefined)
  if (handle && (await handle.stat()).isFile()) return handle
  await handle?.close()
  throw new UsageError(`${label}: ${file}: no such file`)
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
    const handle = await openArchive(reference.path, label)
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
  const config = await readJson<{architecture?: string; variant?: string; config?: {Labels?: Record<string, string>}}>(layout, 'config', manifest.config)
  return {labels: config.config?.Labels ?? {}, architecture: architectureOfPlatform(config)}
}
