import {createReadStream} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import path from 'node:path'
import type {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import tar from 'tar-stream'
import {contentObjectPath} from '../ostree/tree.js'
import type {ImageEntry} from './content.js'

// tar-stream writes PAX values as UTF-8 text, which corrupts binary xattrs
// (security.capability). Its ustar header encoder is fine: load it (the
// package's exports map hides it) and write the PAX records ourselves.
const require = createRequire(import.meta.url)
type Header = Partial<Omit<tar.Header, 'type'>> & {name: string; type?: tar.Header['type'] | 'pax-header'}
/** An entry's header, with the xattrs our PAX encoder writes. */
type EntryHeader = Partial<tar.Header> & {name: string; xattrs?: Array<[string, Buffer]>}
const headers = require(path.join(path.dirname(require.resolve('tar-stream')), 'headers.js')) as {encode(header: Header): Buffer | null}

/** One PAX record: "LEN key=value\n", LEN counting its own digits, in bytes. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')])
  let length = body.length + 1
  while (String(length).length + body.length !== length) length = String(length).length + body.length
  return Buffer.concat([Buffer.from(String(length)), body])
}

function needsPax(entry: Header, xattrs: Array<[string, Buffer]>): boolean {
  return xattrs.length > 0 || headers.encode({...entry}) === null
}

type PackInternals = tar.Pack & {push(chunk: Buffer): boolean}

/** A tar-stream pack whose PAX headers carry binary xattr values intact. */
function binarySafePack(): tar.Pack {
  const pack = tar.pack() as PackInternals & {_encodePax(header: Header): void}
  pack._encodePax = function (header: Header) {
    const xattrs = (header as {xattrs?: Array<[string, Buffer]>}).xattrs ?? []
    const records = Buffer.concat([
      paxRecord('path', Buffer.from(header.name)),
      ...(header.linkname ? [paxRecord('linkpath', Buffer.from(header.linkname))] : []),
      ...xattrs.map(([name, value]) => paxRecord(`SCHILY.xattr.${name}`, value)),
    ])
    const common = {mode: 0o644, uid: 0, gid: 0, mtime: header.mtime}
    this.push(headers.encode({...common, name: 'PaxHeader', size: records.length, type: 'pax-header'})!)
    this.push(records)
    if (records.length % 512) this.push(Buffer.alloc(512 - (records.length % 512)))
    // The real header: the PAX path and linkpath override these placeholders.
    const placeholder = (name: string): string => name.replace(/[^\x20-\x7e]/g, '_').slice(-99)
    this.push(headers.encode({...header, name: placeholder(header.name), linkname: header.linkname && placeholder(header.linkname)})!)
  }
  return pack
}

const SMALL_FILE = 1 << 20
const READ_AHEAD = 32

export interface LayerOptions {
  /** The bare or bare-user repo holding the content objects. */
  repoPath: string
  /** Every entry's mtime: ostree keeps none; SOURCE_DATE_EPOCH (the commit's timestamp). */
  mtime: number
}

/** Files that share content in /usr become hard links; /etc stays copies, since config is edited in place. */
function linkable(entry: ImageEntry): boolean {
  return entry.type === 'file' && entry.size > 0 && !entry.name.startsWith('etc/')
}

/**
 * A layer's tar stream: the entries (sorted, with every parent directory
 * before them) with numeric owners, exact modes, xattrs as PAX records, one
 * mtime, and content shared within /usr written once and hard-linked.
 */
export function layerTar(entries: ImageEntry[], options: LayerOptions): Readable {
  const pack = binarySafePack()
  const mtime = new Date(options.mtime * 1000)
  const headers = tarHeaders(entries, mtime)
  const add = (header: EntryHeader, body?: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const done = (error?: Error | null): void => (error ? reject(error) : resolve())
      if (body) pack.entry(header, body, done)
      else pack.entry(header, done)
    })
  // Small files are read ahead, several at a time: one read after another leaves the thread idle on I/O.
  const small = entries.filter((entry, index) => headers[index].type === 'file' && entry.size > 0 && entry.size <= SMALL_FILE)
  const reads = new Map<ImageEntry, Promise<Buffer>>()
  let nextRead = 0
  const content = (entry: ImageEntry): Promise<Buffer> => {
    while (nextRead < small.length && reads.size < READ_AHEAD) {
      const ahead = small[nextRead++]
      const reading = readFile(contentObjectPath(options.repoPath, ahead.source!.checksum!))
      reading.catch(() => undefined)
      reads.set(ahead, reading)
    }
    const reading = reads.get(entry)!
    reads.delete(entry)
    return reading
  }
  const write = async (): Promise<void> => {
    for (const [index, entry] of entries.entries()) {
      const header = headers[index]
      if (header.type !== 'file') await add(header)
      // A file entry without a body waits for one: empty files get an empty buffer.
      else if (header.size === 0) await add(header, Buffer.alloc(0))
      // Small files in one read; big ones streamed in large chunks: per-file stream setup dominates otherwise.
      else if (entry.size <= SMALL_FILE) await add(header, await content(entry))
      else await pipeline(createReadStream(contentObjectPath(options.repoPath, entry.source!.checksum!), {highWaterMark: 1 << 20}), pack.entry(header))
    }
    pack.finalize()
  }
  write().catch((error: Error) => pack.destroy(error))
  return pack as unknown as Readable
}

/** Each entry's tar header; content shared within the layer's /usr becomes a hard link to its first path. */
function tarHeaders(entries: ImageEntry[], mtime: Date): EntryHeader[] {
  const firstOfContent = new Map<string, string>()
  return entries.map((entry) => {
    const header: EntryHeader = {name: entry.name, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime, size: 0, type: 'file'}
    if (entry.type === 'directory') Object.assign(header, {type: 'directory', name: entry.name + '/'})
    else if (entry.type === 'symlink') Object.assign(header, {type: 'symlink', linkname: entry.target})
    else {
      const key = linkable(entry) ? entry.source!.checksum! : undefined
      const first = key ? firstOfContent.get(key) : undefined
      if (first) Object.assign(header, {type: 'link', linkname: first})
      else {
        header.size = entry.size
        if (key) firstOfContent.set(key, entry.name)
      }
    }
    if (needsPax(header, entry.xattrs)) Object.assign(header, {pax: {}, xattrs: entry.xattrs})
    return header
  })
}
