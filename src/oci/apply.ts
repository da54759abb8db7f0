import {isUtf8} from 'node:buffer'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'
import {createGunzip} from 'node:zlib'
import tar from 'tar-stream'
import {AptOstreeError} from '../errors.js'
import {quoted} from '../text.js'
import type {OpenBlob} from './read.js'
import {zstdDecompressor, zstdError} from '../tools/zstd.js'
import {resolvePath} from '../file-tree.js'
import type {FileTree, FileTreeEntry} from '../file-tree.js'

/** Files the caller keeps are kept in memory up to this size; nothing else is. */
const MAX_KEPT_CONTENT = 1024 * 1024

/** Where a regular file's content is: a layer and the entry's name there; shared by hard links. */
interface FileContent {
  layer: number
  name: string
  content?: Buffer
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b])
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd])
const WHITEOUT = '.wh.'
const OPAQUE_WHITEOUT = '.wh..wh..opq'

/** gunzip, `zstd -dc` (Node 20 has no zstd), or nothing for a plain tar. */
async function decompressorFor(blob: OpenBlob): Promise<NodeJS.ReadWriteStream[]> {
  const magic = await blob.head(ZSTD_MAGIC.length)
  if (magic.subarray(0, 2).equals(GZIP_MAGIC)) return [createGunzip()]
  if (magic.equals(ZSTD_MAGIC)) return [zstdDecompressor()]
  return []
}

/** A tar entry's content: tar-stream's Source, async-iterable at run time though not in its types. */
type EntryContent = tar.Extract extends AsyncIterable<infer Source> ? Source : never

/** PAX records override the header's names; tar-stream types them loosely. */
const paxOf = (header: tar.Header): {path?: string; linkpath?: string} => (header.pax ?? {}) as {path?: string; linkpath?: string}

/** A decompression or tar error as one line naming the blob. */
function layerError(blob: OpenBlob, error: unknown): AptOstreeError {
  if (error instanceof AptOstreeError) return error
  const failure = error as {code?: string; stderr?: string; message: string}
  if (failure.code === 'ENOENT') return zstdError(error) as AptOstreeError
  const reason = failure.stderr?.trim().split('\n').pop() ?? failure.message.split('\n')[0]
  return new AptOstreeError(`${blob.label}: corrupt or unreadable layer (${reason})`)
}

/** Each tar entry of a (maybe compressed) layer, in order; what `onEntry` does not read is skipped. */
async function readTar(blob: OpenBlob, onEntry: (header: tar.Header, content: EntryContent) => Promise<void>): Promise<void> {
  // latin1 keeps a name's bytes, so names that are not UTF-8 can be told apart.
  const extract = tar.extract({filenameEncoding: 'latin1'} as Parameters<typeof tar.extract>[0])
  const source = blob.stream()
  const piped = pipeline([source, ...(await decompressorFor(blob)), extract])
  piped.catch(() => undefined)
  try {
    for await (const entry of extract) {
      await onEntry(entry.header, entry)
      entry.resume()
    }
    await piped
  } catch (error) {
    source.destroy()
    throw layerError(blob, error)
  }
}

const isRegularFile = (header: tar.Header): boolean => header.type === 'file' || header.type === 'contiguous-file'

async function collect(stream: EntryContent): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream as unknown as AsyncIterable<Buffer>) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/** A tar name as a tree path, and whether its last component is valid UTF-8. */
function treePath(raw: string, fromPax: boolean): {key: string; validName: boolean} {
  // PAX records are UTF-8 already (tar-stream decodes them); other names are latin1-decoded bytes.
  const text = fromPax ? raw : Buffer.from(raw, 'latin1').toString('utf8')
  const base = path.posix.basename(raw)
  const validName = fromPax ? !base.includes('\uFFFD') : isUtf8(Buffer.from(base, 'latin1'))
  const key = path.posix.normalize(`/${text}`)
  return {key: key.length > 1 ? key.replace(/\/+$/, '') : key, validName}
}

function linkTarget(raw: string, fromPax: boolean): {target: string; valid: boolean} {
  if (fromPax) return {target: raw, valid: !raw.includes('\uFFFD')}
  const bytes = Buffer.from(raw, 'latin1')
  return {target: bytes.toString('utf8'), valid: isUtf8(bytes)}
}

/** A layer's entry as read, applied once the layer's whiteouts are. */
interface LayerEntry {
  header: tar.Header
  /** The tar name as a tree path. */
  name: string
  validName: boolean
  /** A kept file's bytes. */
  content?: Buffer
}

/** `.wh.NAME` in DIRECTORY removes NAME; an opaque one (no name) what DIRECTORY had. */
interface Whiteout {
  directory: string
  name?: string
}

/** What a whiteout's tar name removes; undefined for aufs's own metadata (`.wh..wh.*`), which removes nothing. */
function whiteoutOf(blob: OpenBlob, key: string): Whiteout | undefined {
  const base = path.posix.basename(key)
  const directory = path.posix.dirname(key)
  if (base === OPAQUE_WHITEOUT) return {directory}
  if (base.startsWith(`${WHITEOUT}${WHITEOUT}`)) return undefined
  const name = base.slice(WHITEOUT.length)
  // "." or ".." would remove the directory itself or its parent: not a file a whiteout can name.
  if (name === '' || name === '.' || name === '..') throw new AptOstreeError(`${blob.label}: the whiteout ${quoted(key)} names no file`)
  return {directory, name}
}

/** Who asks for a layer's blob, for `use` to read it (a layer is read again for the content of kept files). */
export type LayerReader = (layer: number, use: (blob: OpenBlob) => Promise<void>) => Promise<void>

/**
 * The filesystem that applying an image's layers in order gives: OCI
 * whiteouts remove what lower layers had, hard links take their target's
 * type and content, missing parents become directories as unpackers make
 * them. Only the files `keeps` names keep their content (the lint rules'
 * inputs, say): an image's tree is held in memory, its content is not.
 */
export class LayeredTree {
  readonly tree: FileTree = new Map([['/', {type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0}]])

  constructor(private readonly keeps: (file: string) => boolean) {}
  private readonly contents = new Map<string, FileContent>()
  /** Each directory's entries, so that removing a directory costs what it removes, not the size of the tree. */
  private readonly children = new Map<string, Set<string>>()

  /**
   * A layer's whiteouts hide what the lower layers have, wherever they are
   * in its tar, and never the layer's own entries: so they are applied
   * first, then the entries.
   */
  async applyLayer(layer: number, blob: OpenBlob): Promise<void> {
    const whiteouts: Whiteout[] = []
    const entries: LayerEntry[] = []
    await readTar(blob, async (header, content) => {
      const {key: name, validName} = treePath(header.name, paxOf(header).path !== undefined)
      if (path.posix.basename(name).startsWith(WHITEOUT)) {
        const whiteout = whiteoutOf(blob, name)
        if (whiteout) whiteouts.push(whiteout)
        return
      }
      // Kept by its name in the tar; one kept only where links lead is read again by fillKeptFiles.
      const keep = isRegularFile(header) && this.keeps(name) && (header.size ?? 0) <= MAX_KEPT_CONTENT
      entries.push({header, name, validName, ...(keep ? {content: await collect(content)} : {})})
    })
    for (const {directory, name} of whiteouts) {
      const placed = this.place(directory)
      if (name === undefined) this.removeBelow(placed)
      else this.remove(path.posix.join(placed, name))
    }
    for (const entry of entries) this.applyEntry(layer, blob, entry)
  }

  private applyEntry(layer: number, blob: OpenBlob, {header, name, validName, content}: LayerEntry): void {
    const base = path.posix.basename(name)
    if (name === '/' && header.type !== 'directory') throw new AptOstreeError(`${blob.label}: the entry ${quoted(header.name)} makes the root a ${header.type ?? 'file'}, not a directory`)
    const key = name === '/' ? '/' : path.posix.join(this.place(path.posix.dirname(name)), base)
    const common = {mode: (header.mode ?? 0o644) & 0o7777, uid: header.uid ?? 0, gid: header.gid ?? 0, size: 0, ...(validName ? {} : {invalidUtf8: true})}
    if (isRegularFile(header)) return this.set(key, {...common, type: 'file', size: header.size ?? 0}, {layer, name, content})
    switch (header.type) {
      case 'directory':
        this.set(key, {...common, type: 'directory'})
        break
      case 'symlink': {
        const {target, valid} = linkTarget(header.linkname ?? '', paxOf(header).linkpath !== undefined)
        this.set(key, {...common, type: 'symlink', target, ...(valid && validName ? {} : {invalidUtf8: true})})
        break
      }
      case 'link': {
        const source = resolvePath(this.tree, treePath(header.linkname ?? '', paxOf(header).linkpath !== undefined).key, false)
        const entry = source === undefined ? undefined : this.tree.get(source)
        if (!entry || entry.type === 'directory') throw new AptOstreeError(`${blob.label}: hard link ${quoted(name)} to ${quoted(header.linkname ?? '')}, which the layers do not have`)
        // A hard link is the same inode: its target's type, metadata and content.
        const {invalidUtf8: _targetName, read: _read, ...metadata} = entry
        this.set(key, {...metadata, ...(validName ? {} : {invalidUtf8: true})}, this.contents.get(source!))
        break
      }
      default:
        this.set(key, {...common, type: 'other'})
    }
  }

  /**
   * Where a directory of a layer's entry is in the tree: through the links
   * lower layers made, as extracting there would land; created (as a
   * directory, owned by root) where missing.
   */
  private place(directory: string): string {
    const physical = resolvePath(this.tree, directory)
    if (physical !== undefined && this.tree.get(physical)?.type === 'directory') return physical
    let current = '/'
    for (const name of directory.split('/').filter(Boolean)) {
      current = path.posix.join(current, name)
      if (this.tree.get(current)?.type !== 'directory') this.set(current, {type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0})
    }
    return current
  }

  private set(key: string, entry: FileTreeEntry, content?: FileContent): void {
    const existing = this.tree.get(key)
    // Anything but a directory replacing a directory hides what was below it.
    if (entry.type !== 'directory' && existing?.type === 'directory') this.removeBelow(key)
    if (!existing && key !== '/') this.childrenOf(path.posix.dirname(key)).add(key)
    this.contents.delete(key)
    if (content) {
      this.contents.set(key, content)
      entry.read = async () => {
        if (content.content) return content.content
        throw new AptOstreeError(`${key}: the image loader kept no content for it (only the files it was asked to keep)`)
      }
    }
    this.tree.set(key, entry)
  }

  private childrenOf(directory: string): Set<string> {
    let children = this.children.get(directory)
    if (!children) this.children.set(directory, (children = new Set()))
    return children
  }

  /** KEY and everything below it. */
  private remove(key: string): void {
    if (!this.tree.has(key)) return
    this.removeBelow(key)
    this.tree.delete(key)
    this.contents.delete(key)
    this.children.get(path.posix.dirname(key))?.delete(key)
  }

  /** Everything below DIRECTORY, depth first without recursion (an image's tree may be deeper than the stack). */
  private removeBelow(directory: string): void {
    const pending = [...(this.children.get(directory) ?? [])]
    this.children.delete(directory)
    for (let key = pending.pop(); key !== undefined; key = pending.pop()) {
      for (const child of this.children.get(key) ?? []) pending.push(child)
      this.children.delete(key)
      this.tree.delete(key)
      this.contents.delete(key)
    }
  }

  /**
   * Read again, from their layers, the kept files whose content the first
   * pass could not keep: a hard link to a file whose own path is not kept
   * (ostree-encapsulated layers link every checkout path to an
   * object under /sysroot/ostree/repo), or a link to such a file.
   */
  async fillKeptFiles(read: LayerReader): Promise<void> {
    const wanted = new Map<number, Map<string, FileContent>>()
    for (const key of this.tree.keys()) {
      if (!this.keeps(key)) continue
      const physical = resolvePath(this.tree, key)
      const file = physical === undefined ? undefined : this.contents.get(physical)
      if (!file || file.content || this.tree.get(physical!)!.size > MAX_KEPT_CONTENT) continue
      wanted.set(file.layer, (wanted.get(file.layer) ?? new Map()).set(file.name, file))
    }
    for (const [layer, files] of wanted) {
      await read(layer, (blob) =>
        readTar(blob, async (header, content) => {
          const file = files.get(treePath(header.name, paxOf(header).path !== undefined).key)
          if (file && isRegularFile(header)) file.content = await collect(content)
        }),
      )
    }
  }
}
