import {createHash} from 'node:crypto'
import {createReadStream, createWriteStream} from 'node:fs'
import {mkdir, readdir, rename, rm, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'
import tar from 'tar-stream'
import type {Descriptor} from './blob.js'
import {ociDirectory, readLayoutIndex} from './read.js'

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
}
const REF_NAME = 'org.opencontainers.image.ref.name'

export interface OciIndex {
  schemaVersion: 2
  mediaType?: string
  manifests: Descriptor[]
}

/** An OCI image layout directory (image-spec image-layout.md). */
export class OciLayout {
  constructor(readonly dir: string) {}

  get blobsDir(): string {
    return path.join(this.dir, 'blobs', 'sha256')
  }

  static async create(dir: string): Promise<OciLayout> {
    const layout = new OciLayout(dir)
    await mkdir(layout.blobsDir, {recursive: true})
    await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
    return layout
  }

  /** Write a JSON document as a blob; its bytes (hence digest) depend only on the value. */
  async writeJson(mediaType: string, value: unknown): Promise<Descriptor> {
    const bytes = Buffer.from(JSON.stringify(value))
    const hex = createHash('sha256').update(bytes).digest('hex')
    await writeFile(path.join(this.blobsDir, hex), bytes)
    return {mediaType, digest: `sha256:${hex}`, size: bytes.length}
  }

  /** An output layout was maybe written by another tool, from an image: its index.json is read as an image's is. */
  async readIndex(): Promise<OciIndex | undefined> {
    return (await readLayoutIndex(await ociDirectory(this.dir, this.dir))) as OciIndex | undefined
  }

  /** Point TAG at the manifest; index.json is replaced in one rename, so readers never see half of it. */
  async setTag(tag: string, manifest: Descriptor): Promise<void> {
    const index = (await this.readIndex()) ?? {schemaVersion: 2, manifests: []}
    const others = (index.manifests ?? []).filter((entry) => entry.annotations?.[REF_NAME] !== tag)
    const updated: OciIndex = {schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [...others, {...manifest, annotations: {[REF_NAME]: tag}}]}
    const partial = path.join(this.dir, `.index.json.${process.pid}`)
    await writeFile(partial, JSON.stringify(updated))
    await rename(partial, path.join(this.dir, 'index.json'))
  }

}

/**
 * Pack a layout directory into an oci-archive: a tar of its files, sorted,
 * owned by root, stamped with `mtime`. Written beside FILE and renamed over
 * it at the end, so FILE is either the old archive or the whole new one.
 */
export async function writeOciArchive(layoutDir: string, file: string, mtime: number): Promise<void> {
  const names: string[] = []
  const walk = async (relative: string): Promise<void> => {
    for (const entry of (await readdir(path.join(layoutDir, relative), {withFileTypes: true})).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const name = path.posix.join(relative, entry.name)
      names.push(entry.isDirectory() ? name + '/' : name)
      if (entry.isDirectory()) await walk(name)
    }
  }
  await walk('')
  const pack = tar.pack()
  const partial = `${file}.apt-ostree-${process.pid}.partial`
  const date = new Date(mtime * 1000)
  const writing = pipeline(pack, createWriteStream(partial))
  try {
    for (const name of names) {
      const common = {mtime: date, uid: 0, gid: 0}
      if (name.endsWith('/')) {
        pack.entry({...common, name: name.slice(0, -1), type: 'directory', mode: 0o755})
        continue
      }
      const source = path.join(layoutDir, name)
      await pipeline(createReadStream(source), pack.entry({...common, name, type: 'file', mode: 0o644, size: (await stat(source)).size}))
    }
    pack.finalize()
    await writing
    await rename(partial, file)
  } catch (error) {
    pack.destroy()
    await writing.catch(() => undefined)
    await rm(partial, {force: true})
    throw error
  }
}
