import {createHash} from 'node:crypto'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {gzipSync} from 'node:zlib'
import {execa} from 'execa'
import tar from 'tar-stream'
import {expect} from 'vitest'
import {AptOstreeError} from '../../src/errors.js'

export interface LayerEntry {
  name: string
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo'
  content?: string | Buffer
  linkname?: string
  mode?: number
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/** A tar of the entries, in order, as they are (no parent directories added). */
export async function tarOf(entries: LayerEntry[]): Promise<Buffer> {
  const pack = tar.pack()
  for (const {name, type = 'file', content = '', linkname, mode} of entries) {
    pack.entry({name, type, linkname, mode: mode ?? (type === 'directory' ? 0o755 : 0o644), uid: 0, gid: 0, mtime: new Date(0)}, content)
  }
  pack.finalize()
  return collect(pack as unknown as AsyncIterable<Buffer>)
}

export const gzip = (layer: Buffer): Buffer => gzipSync(layer)
export const zstd = async (layer: Buffer): Promise<Buffer> => Buffer.from((await execa('zstd', ['-q', '-c'], {input: layer, encoding: 'buffer'})).stdout)

/** CONTENT as a blob of the layout at LAYOUT, named by its digest. */
export function writeBlob(layout: string, content: Buffer | string): {digest: string; size: number} {
  const bytes = Buffer.from(content)
  const hex = createHash('sha256').update(bytes).digest('hex')
  mkdirSync(path.join(layout, 'blobs/sha256'), {recursive: true})
  writeFileSync(path.join(layout, 'blobs/sha256', hex), bytes)
  return {digest: `sha256:${hex}`, size: bytes.length}
}

/** An OCI layout at LAYOUT holding one image, tagged TAG, of the given layer blobs (bottom first). */
export function writeLayout(layout: string, layers: Buffer[], tag: string): {layers: string[]} {
  const layerDescriptors = layers.map((blob) => ({mediaType: 'application/vnd.oci.image.layer.v1.tar', ...writeBlob(layout, blob)}))
  const config = writeBlob(layout, JSON.stringify({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: []}}))
  const manifest = writeBlob(layout, JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {mediaType: 'application/vnd.oci.image.config.v1+json', ...config}, layers: layerDescriptors}))
  writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  const index = {schemaVersion: 2, manifests: [{mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: {'org.opencontainers.image.ref.name': tag}}]}
  writeFileSync(path.join(layout, 'index.json'), JSON.stringify(index))
  return {layers: layerDescriptors.map((descriptor) => descriptor.digest)}
}

/** The manifest of the layout's one image, as the index names it. */
export function readManifest(layout: string): {layers: Array<{digest: unknown; size: number}>; config: {digest: string; size: number}} {
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as {manifests: Array<{digest: string}>}
  return JSON.parse(readFileSync(path.join(layout, 'blobs/sha256', index.manifests[0].digest.slice('sha256:'.length)), 'utf8'))
}

/** Replace the manifest of the layout's one image by what EDIT makes of it: a new blob, and the index pointing at it. */
export function editManifest(layout: string, edit: (manifest: ReturnType<typeof readManifest>) => void): void {
  const manifest = readManifest(layout)
  edit(manifest)
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as {manifests: Array<Record<string, unknown>>}
  Object.assign(index.manifests[0], writeBlob(layout, JSON.stringify(manifest)))
  writeFileSync(path.join(layout, 'index.json'), JSON.stringify(index))
}

/** The layout as an oci-archive, index.json last so a reader cannot count on finding it first. */
export async function writeArchive(layout: string, file: string): Promise<void> {
  const blobs = readdirSync(path.join(layout, 'blobs/sha256')).map((name) => `blobs/sha256/${name}`)
  const files = ['oci-layout', ...blobs, 'index.json'].map((name) => ({name, content: readFileSync(path.join(layout, name))}))
  writeFileSync(file, await tarOf([{name: 'blobs', type: 'directory'}, {name: 'blobs/sha256', type: 'directory'}, ...files]))
}

/** The error reading an image rejects with, which must be one of ours, on one line. */
export async function refusal(reading: Promise<unknown>): Promise<Error> {
  const error = await reading.then(
    () => undefined,
    (thrown: unknown) => thrown as Error,
  )
  expect(error).toBeInstanceOf(AptOstreeError)
  expect(error!.message).not.toContain('\n')
  return error!
}
