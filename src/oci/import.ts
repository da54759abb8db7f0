import {createReadStream, createWriteStream} from 'node:fs'
import {mkdir, readdir, rename, rm, symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'
import tar from 'tar-stream'
import {AptOstreeError} from '../errors.js'
import {pathExists} from '../fs.js'
import {findKernelVersion} from '../ostree/layout.js'
import {TreeFs} from '../sandbox/tree-fs.js'
import type {RunOptions} from '../tools/exec.js'
import {OstreeRepo} from '../tools/ostree.js'
import {skopeoCopyToLayout} from '../tools/skopeo.js'
import {umociUnpack} from '../tools/umoci.js'
import {ociDirectory, selectManifest} from './read.js'
import {formatImageReference, type ImageReference} from './reference.js'

const UMOCI_TAG = 'image'

/** Unpack an oci-archive's layout files (index.json, oci-layout, blobs) into DIR. */
async function extractArchive(file: string, directory: string): Promise<void> {
  const extract = tar.extract()
  const reading = pipeline(createReadStream(file), extract)
  for await (const entry of extract) {
    const name = path.posix.normalize(entry.header.name)
    if (entry.header.type !== 'file' || name.startsWith('..') || path.posix.isAbsolute(name)) {
      entry.resume()
      continue
    }
    await mkdir(path.dirname(path.join(directory, name)), {recursive: true})
    await pipeline(entry, createWriteStream(path.join(directory, name)))
  }
  await reading
}

/** The image's OCI layout on disk and its tag there: in place for oci:, else unpacked or copied into WORK. */
async function layoutOnDisk(reference: ImageReference, workDir: string, options: RunOptions): Promise<{directory: string; tag: string}> {
  if (reference.transport === 'oci') return {directory: reference.path, tag: reference.tag}
  const directory = path.join(workDir, 'image-source')
  if (reference.transport === 'oci-archive') {
    if (!(await pathExists(reference.path))) throw new AptOstreeError(`${reference.path}: no such oci-archive`)
    await extractArchive(reference.path, directory).catch((error: Error) => {
      throw new AptOstreeError(`${reference.path}: not a readable oci-archive (${error.message})`)
    })
    return {directory, tag: reference.tag}
  }
  await skopeoCopyToLayout(formatImageReference(reference), `oci:${directory}:${UMOCI_TAG}`, options)
  return {directory, tag: UMOCI_TAG}
}

/**
 * A layout in WORK that umoci reads as UMOCI_TAG: the manifest the reference
 * names, chosen as lint and labels choose it (an untagged single image
 * answers to any tag, a platform index gives this machine's image), with the
 * blobs linked from where they are. umoci itself only finds tagged images.
 */
async function umociLayout(reference: ImageReference, workDir: string, options: RunOptions): Promise<string> {
  const source = await layoutOnDisk(reference, workDir, options)
  const {descriptor} = await selectManifest(await ociDirectory(source.directory, formatImageReference(reference)), source.tag)
  const layout = path.join(workDir, 'image-layout')
  await mkdir(layout, {recursive: true})
  await symlink(path.resolve(source.directory, 'blobs'), path.join(layout, 'blobs'))
  await writeFile(path.join(layout, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  const index = {schemaVersion: 2, manifests: [{...descriptor, annotations: {...descriptor.annotations, 'org.opencontainers.image.ref.name': UMOCI_TAG}}]}
  await writeFile(path.join(layout, 'index.json'), JSON.stringify(index))
  return layout
}

/**
 * An image's filesystem back into an OSTree commit, as bootc's import sees
 * it: the layers unpacked, /etc moved back to /usr/etc, /var kept (ostree's
 * "initial-var" copies it into the new stateroot at the first deploy), the
 * contents of /run and /tmp dropped. Proves the image, not only the commit
 * it came from, is bootable.
 */
export async function commitImage(reference: ImageReference, workDir: string, options: RunOptions): Promise<{repo: OstreeRepo; commit: string}> {
  const layout = await umociLayout(reference, workDir, options)
  const rootfs = path.join(workDir, 'image-rootfs')
  await umociUnpack(layout, UMOCI_TAG, rootfs, options)
  if (await pathExists(path.join(rootfs, 'usr/etc'))) throw new AptOstreeError(`${formatImageReference(reference)}: the image has /usr/etc; bootc images ship /etc`)
  if (await pathExists(path.join(rootfs, 'etc'))) await rename(path.join(rootfs, 'etc'), path.join(rootfs, 'usr/etc'))
  for (const runtime of ['run', 'tmp']) {
    for (const entry of await readdir(path.join(rootfs, runtime)).catch(() => [] as string[])) await rm(path.join(rootfs, runtime, entry), {recursive: true, force: true})
  }
  const kernel = await findKernelVersion(new TreeFs(rootfs))
  const repo = new OstreeRepo(path.join(workDir, 'image-repo'))
  await mkdir(repo.path, {recursive: true})
  await repo.init('bare-user', options)
  const commit = await repo.commit({tree: rootfs, metadata: {'ostree.bootable': true, 'ostree.linux': kernel}}, options)
  await rm(rootfs, {recursive: true, force: true})
  return {repo, commit}
}
