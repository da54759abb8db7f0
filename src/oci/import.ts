import {createReadStream, createWriteStream} from 'node:fs'
import {mkdir, symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'
import tar from 'tar-stream'
import type {Architecture} from '../arch.js'
import {AptOstreeError} from '../errors.js'
import {pathExists} from '../fs.js'
import {findKernelVersion} from '../ostree/layout.js'
import type {Sandbox} from '../sandbox/bwrap.js'
import {TreeFs} from '../sandbox/tree-fs.js'
import {runWorker} from '../sandbox/worker.js'
import type {WorkerReport} from '../sandbox/worker-protocol.js'
import type {Workspace} from '../workspace.js'
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
    if (entry.header.type !== 'file' || name === '..' || name.startsWith('../') || path.posix.isAbsolute(name)) {
      entry.resume()
      continue
    }
    await mkdir(path.dirname(path.join(directory, name)), {recursive: true})
    await pipeline(entry, createWriteStream(path.join(directory, name)))
  }
  await reading
}

/** The image's OCI layout on disk and its tag there: in place for oci:, else unpacked or copied into WORK. */
async function layoutOnDisk(reference: ImageReference, workDir: string, options: RunOptions & {allPlatforms?: boolean}): Promise<{directory: string; tag: string}> {
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

/** Where an oci: layout read in place is bound inside the sandbox (its host path may be out of the sandbox's reach). */
const SOURCE_LAYOUT = '/run/apt-ostree/image'

/**
 * A layout in WORK that umoci reads as UMOCI_TAG: the manifest the reference
 * names, chosen as lint and labels choose it (an untagged single image
 * answers to any tag, a platform index gives this machine's image), with the
 * blobs linked from where they are (inside the sandbox). umoci itself only
 * finds tagged images. Returns the layout, and the bind an oci: source needs.
 */
async function umociLayout(reference: ImageReference, workDir: string, sandbox: Sandbox, options: RunOptions, architecture?: Architecture): Promise<{layout: string; binds: Array<[string, string]>}> {
  // Another platform than the host's is in a registry's index only: copy the index whole.
  const source = await layoutOnDisk(reference, workDir, {...options, allPlatforms: architecture !== undefined})
  const {descriptor} = await selectManifest(await ociDirectory(source.directory, formatImageReference(reference)), source.tag, architecture)
  const layout = path.join(workDir, 'image-layout')
  await mkdir(layout, {recursive: true})
  const inPlace = reference.transport === 'oci'
  await symlink(inPlace ? `${SOURCE_LAYOUT}/blobs` : sandbox.inside(path.join(source.directory, 'blobs')), path.join(layout, 'blobs'))
  await writeFile(path.join(layout, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  const index = {schemaVersion: 2, manifests: [{...descriptor, annotations: {...descriptor.annotations, 'org.opencontainers.image.ref.name': UMOCI_TAG}}]}
  await writeFile(path.join(layout, 'index.json'), JSON.stringify(index))
  return {layout, binds: inPlace ? [[path.resolve(source.directory), SOURCE_LAYOUT]] : []}
}

/** An image's tree into a commit, for the worker: every path is a path inside the sandbox. */
export interface ImportImageJob {
  kind: 'import-image'
  /** The image, for messages. */
  name: string
  layout: string
  rootfs: string
  repo: string
}

/**
 * An image's filesystem back into an OSTree commit, as bootc's import sees
 * it: the layers unpacked, /etc moved back to /usr/etc, /var kept (ostree's
 * "initial-var" copies it into the new stateroot at the first deploy), the
 * contents of /run and /tmp dropped. Run by the worker: the image is
 * unpacked with its owners, and read only through TreeFs.
 */
export async function importImageTree(job: ImportImageJob, report: WorkerReport): Promise<{commit: string}> {
  const options = {signal: report.signal, onLine: report.progress}
  await umociUnpack(job.layout, UMOCI_TAG, job.rootfs, options)
  const tree = new TreeFs(job.rootfs)
  if (await tree.exists('/usr/etc')) throw new AptOstreeError(`${job.name}: the image has /usr/etc; bootc images ship /etc`)
  if (await tree.exists('/etc')) await tree.rename('/etc', '/usr/etc')
  for (const runtime of ['/run', '/tmp']) {
    for (const entry of await tree.list(runtime)) await tree.remove(`${runtime}/${entry}`)
  }
  const kernel = await findKernelVersion(tree)
  const repo = new OstreeRepo(job.repo)
  await repo.init('bare-user', options)
  return {commit: await repo.commit({tree: job.rootfs, metadata: {'ostree.bootable': true, 'ostree.linux': kernel}}, options)}
}

/**
 * The image at REFERENCE committed back to OSTree (importImageTree) in a
 * bare-user repo in WORKSPACE's work dir. Proves the image, not only the
 * commit it came from, is bootable.
 */
export async function commitImage(reference: ImageReference, workspace: Workspace, architecture?: Architecture): Promise<{repo: OstreeRepo; commit: string}> {
  const run = {log: workspace.log, signal: workspace.signal}
  const {layout, binds} = await umociLayout(reference, workspace.workDir, workspace.sandbox, run, architecture)
  const repo = new OstreeRepo(await workspace.ownedDirectory(path.join(workspace.workDir, 'image-repo')))
  const rootfs = path.join(workspace.workDir, 'image-rootfs')
  const {sandbox} = workspace
  const job: ImportImageJob = {kind: 'import-image', name: formatImageReference(reference), layout: sandbox.inside(layout), rootfs: sandbox.inside(rootfs), repo: sandbox.inside(repo.path)}
  const {commit} = await runWorker<{commit: string}>(job, sandbox, {...run, readOnly: binds, grant: {write: [workspace.workDir]}})
  await workspace.removeTree(rootfs)
  return {repo, commit}
}
