import {createReadStream} from 'node:fs'
import {open} from 'node:fs/promises'
import {createInterface} from 'node:readline'
import type {Readable} from 'node:stream'
import {createGunzip} from 'node:zlib'
import {AptOstreeError} from '../errors.js'
import {quoted} from '../text.js'
import {xzDecompressor} from '../tools/xz.js'
import {nameProblem, type NameKind} from './names.js'

/** A .deb as a Packages index describes it. */
export interface PackageFile {
  name: string
  version: string
  architecture: string
  /** Path of the .deb below the archive's base URI (pool/main/...). */
  filename: string
  size: number
  sha256: string
}

/** `name=version:arch`, as lockfiles and commit metadata name a package. */
export function packageKey(name: string, version: string, architecture: string): string {
  return `${name}=${version}:${architecture}`
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b])

/** The index's text, whatever its compression (the store keeps files by digest, without their names). */
async function decompressed(file: string): Promise<Readable> {
  const handle = await open(file)
  const {buffer} = await handle.read(Buffer.alloc(6), 0, 6, 0).finally(() => handle.close())
  const raw = createReadStream(file)
  if (buffer.equals(XZ_MAGIC)) return raw.pipe(xzDecompressor())
  if (buffer.subarray(0, 2).equals(GZIP_MAGIC)) return raw.pipe(createGunzip())
  return raw
}

/**
 * The stanzas of a Packages index (plain, .gz or .xz) whose keys WANTED
 * holds, read as a stream (Debian's main index is 60 MB of text). A wanted
 * stanza whose Filename, Size or SHA256 is missing or no pool path, number
 * or digest is an error naming INDEX (`repo "debian": index
 * trixie/main/binary-amd64/Packages.xz`) and the package: the .deb is
 * fetched into the store by that digest and placed at that path.
 */
export async function findPackages(file: string, wanted: Set<string>, index: string): Promise<PackageFile[]> {
  const found: PackageFile[] = []
  let refused: string | undefined
  let fields: Record<string, string> = {}
  const flush = (): void => {
    const stanza = fields
    fields = {}
    const {Package: name, Version: version, Architecture: architecture} = stanza
    if (!name || !version || !architecture || !wanted.has(packageKey(name, version, architecture))) return
    const checked = (field: string, kind: NameKind): string => {
      const value = stanza[field] ?? ''
      const problem = field in stanza ? nameProblem(kind, value) : `has no ${field} field`
      if (problem) refused ??= `${index}: package ${quoted(name)}: ${problem}`
      return value
    }
    found.push({name, version, architecture, filename: checked('Filename', 'filename'), size: Number(checked('Size', 'size')), sha256: checked('SHA256', 'sha256')})
  }
  const lines = createInterface({input: await decompressed(file), crlfDelay: Infinity})
  for await (const line of lines) {
    if (line === '') flush()
    else if (!line.startsWith(' ')) {
      const colon = line.indexOf(':')
      if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trim()
    }
  }
  flush()
  // Read to the end first: a stream left half read would keep xz running.
  if (refused) throw new AptOstreeError(refused)
  return found
}
