import {createHash, type Hash} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {rename, rm} from 'node:fs/promises'
import path from 'node:path'
import {PassThrough, Transform, type Duplex, type Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'
import {zstdCompressor, zstdError} from '../tools/zstd.js'

export type Compression = 'gzip' | 'zstd' | 'none'

export const LAYER_MEDIA_TYPES: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
}

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  annotations?: Record<string, string>
  /** In an index: the platform of the image it names. */
  platform?: {architecture: string; os: string; variant?: string}
}

function hashing(hash: Hash, count?: {bytes: number}): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk)
      if (count) count.bytes += chunk.length
      callback(null, chunk)
    },
  })
}

/**
 * Coalesce the tar stream's many small writes (a 512-byte header, then the
 * content, then padding, per entry) into 1 MiB chunks: every chunk costs a
 * hash update and a round trip to zlib's thread pool or zstd's pipe.
 */
function coalescing(size = 1 << 20): Transform {
  let pending: Buffer[] = []
  let length = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      pending.push(chunk)
      length += chunk.length
      if (length < size) return callback()
      const out = Buffer.concat(pending, length)
      pending = []
      length = 0
      callback(null, out)
    },
    flush(callback) {
      callback(null, length > 0 ? Buffer.concat(pending, length) : undefined)
    },
  })
}

function compressor(compression: Compression): Duplex {
  // gzip from node:zlib writes a fixed header (no name, mtime 0): the same bytes every time.
  if (compression === 'gzip') return createGzip({level: 6})
  if (compression === 'zstd') return zstdCompressor()
  return new PassThrough()
}

/**
 * Stream a layer into BLOBS/sha256/<digest>: the uncompressed diff_id and
 * the compressed digest are computed in the same pass, with no copy of the
 * tar on disk.
 */
export async function writeLayerBlob(tarStream: Readable, blobsDir: string, compression: Compression): Promise<Descriptor & {diffId: string}> {
  const [diff, digest, count] = [createHash('sha256'), createHash('sha256'), {bytes: 0}]
  const partial = path.join(blobsDir, `.partial-${process.pid}-${Math.random().toString(36).slice(2)}`)
  try {
    await pipeline(tarStream, coalescing(), hashing(diff), compressor(compression), hashing(digest, count), createWriteStream(partial))
  } catch (error) {
    await rm(partial, {force: true})
    throw compression === 'zstd' ? zstdError(error) : error
  }
  const hex = digest.digest('hex')
  await rename(partial, path.join(blobsDir, hex))
  return {mediaType: LAYER_MEDIA_TYPES[compression], digest: `sha256:${hex}`, size: count.bytes, diffId: `sha256:${diff.digest('hex')}`}
}
