import {mkdir, readdir, rename, rm} from 'node:fs/promises'
import path from 'node:path'
import {isDeepStrictEqual} from 'node:util'
import {createHash} from 'node:crypto'
import {architectureNamed} from '../arch.js'
import {UsageError} from '../errors.js'
import {pathExists} from '../fs.js'
import type {FileTree} from '../file-tree.js'
import {CommitTree} from '../ostree/tree.js'
import type {CommandLog} from '../tools/exec.js'
import type {OstreeRepo} from '../tools/ostree.js'
import {skopeoCopy, skopeoRawManifest, type RegistryAccess} from '../tools/skopeo.js'
import {LAYER_MEDIA_TYPES, type Compression, type Descriptor} from './blob.js'
import {COMPONENTS_ANNOTATION, layerName, packComponents, packingOfManifest, readPreviousPacking, type Packing} from './chunking.js'
import {imageConfigDocument, imageLabels, type CommitFacts, type ImageConfigInput} from './config.js'
import {imageContent, imageFileTree, layerEntries, type ImageEntry} from './content.js'
import {MEDIA_TYPES, OciLayout, writeOciArchive} from './layout.js'
import {selectManifest, withImageLayout, type Manifest} from './read.js'
import {formatImageReference, type ImageReference} from './reference.js'
import {writeLayers} from './layers.js'

export interface ImageOptions {
  output: ImageReference
  /** `--label K=V`: win over every other label. */
  labels: Record<string, string>
  maxLayers: number
  compression: Compression
  previousBuildManifest?: string
  imageConfig?: ImageConfigInput
  access: RegistryAccess
}

/** A commit to write as an image: where its content is, and what it says about itself. */
export interface ImageSource {
  /** A bare or bare-user repo holding the commit. */
  repo: OstreeRepo
  commit: string
  facts: CommitFacts
}

interface WriteContext extends ImageOptions {
  workDir: string
  log: CommandLog
  signal: AbortSignal
  progress: (line: string) => void
  warn: (message: string) => void
  /** Checks an image's tree before anything is written (the compose's lint). */
  check?: (files: FileTree, source: ImageSource) => Promise<void>
}

export interface ExportInput extends WriteContext, Omit<ImageSource, 'facts'> {}

/** Several commits, one per architecture, as one image index. */
export interface IndexExportInput extends WriteContext {
  sources: ImageSource[]
}

export interface LayerSummary extends Descriptor {
  /** The uncompressed digest (config rootfs.diff_ids); not read back for an image left as it was. */
  diffId?: string
  components: string[]
}

export interface ImageResult {
  reference: string
  manifestDigest: string
  configDigest: string
  layers: LayerSummary[]
  /** Compressed bytes of all layers. */
  size: number
  /** The image at the output already holds this commit with these labels: nothing was written. */
  unchanged: boolean
}

/** One platform's image of an index. */
export interface PlatformResult {
  /** dpkg's name of its architecture. */
  architecture: string
  commit: string
  manifestDigest: string
  configDigest: string
  layers: LayerSummary[]
  size: number
}

export interface IndexResult {
  reference: string
  /** The index's digest: what a registry's tag points at. */
  indexDigest: string
  platforms: PlatformResult[]
  /** Compressed bytes of every platform's layers. */
  size: number
}

/** The manifest of the image already at the output, if there is one we can read. */
async function existingManifest(input: WriteContext): Promise<{manifest: Manifest; digest: string} | undefined> {
  const {output} = input
  try {
    if (output.transport === 'oci' || output.transport === 'oci-archive') {
      if (!(await pathExists(output.path))) return undefined
      return await withImageLayout(output, selectManifest)
    }
    // A registry or the storage: ask for the manifest only, rather than copy the image.
    const raw = await skopeoRawManifest(formatImageReference(output), {...input.access}, {log: input.log, signal: input.signal})
    return {manifest: JSON.parse(raw) as Manifest, digest: `sha256:${createHash('sha256').update(raw).digest('hex')}`}
  } catch (error) {
    if (input.signal.aborted) throw error
    // No image there yet (or not one we can read): a fresh packing, not a failure.
    return undefined
  }
}

/** Write the blobs of the image into a layout: layers in parallel, then config and manifest. */
async function writeImageBlobs(input: WriteContext, repoPath: string, entriesByLayer: ImageEntry[][], packing: Packing, facts: CommitFacts, labels: Record<string, string>, layout: OciLayout): Promise<{manifest: Descriptor; config: Descriptor; layers: LayerSummary[]}> {
  let done = 0
  const layers = await writeLayers(
    entriesByLayer.map((entries) => ({entries, repoPath, mtime: facts.filesTimestamp, compression: input.compression, blobsDir: layout.blobsDir})),
    {
      signal: input.signal,
      onWritten: (index, blob) => input.progress(`layer ${++done}/${entriesByLayer.length}: ${layerName(packing[index])} (${(blob.size / 1e6).toFixed(1)} MB)`),
    },
  )
  const written = layers.map((layer, index) => ({...layer, components: packing[index]}))
  const config = await layout.writeJson(
    MEDIA_TYPES.config,
    imageConfigDocument(
      facts,
      labels,
      input.imageConfig,
      written.map((layer) => layer.diffId),
      packing.map(layerName),
    ),
  )
  const manifest = await layout.writeJson(MEDIA_TYPES.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config,
    layers: written.map(({mediaType, digest, size, components}) => ({mediaType, digest, size, annotations: {[COMPONENTS_ANNOTATION]: components.join(',')}})),
    annotations: labels,
  })
  return {manifest, config, layers: written}
}

/** Move a finished layout to the output: rename, merge into an existing layout, archive, or skopeo. */
async function publish(input: WriteContext, staging: OciLayout, manifest: Descriptor, mtime: number): Promise<void> {
  const {output} = input
  if (output.transport === 'oci' || output.transport === 'oci-archive') await mkdir(path.dirname(path.resolve(output.path)), {recursive: true})
  if (output.transport === 'oci') {
    if (!(await pathExists(output.path))) {
      await staging.setTag(output.tag, manifest)
      await rename(staging.dir, output.path)
      return
    }
    // An existing layout keeps its other images: add the new blobs, then switch the tag.
    const target = new OciLayout(output.path)
    await mkdir(target.blobsDir, {recursive: true})
    for (const blob of await readdir(staging.blobsDir)) {
      if (!(await pathExists(path.join(target.blobsDir, blob)))) await rename(path.join(staging.blobsDir, blob), path.join(target.blobsDir, blob))
    }
    await target.setTag(output.tag, manifest)
    return
  }
  const tag = output.transport === 'oci-archive' ? output.tag : 'latest'
  await staging.setTag(tag, manifest)
  if (output.transport === 'oci-archive') await writeOciArchive(staging.dir, output.path, mtime)
  else await skopeoCopy(`oci:${staging.dir}:${tag}`, formatImageReference(output), input.access, {log: input.log, signal: input.signal, allPlatforms: manifest.mediaType === MEDIA_TYPES.index})
}

/** The layouts an export writes its blobs into: beside an oci: output (one rename away), else in the work dir. */
async function withStagingLayout<T>(input: WriteContext, work: (staging: OciLayout) => Promise<T>): Promise<T> {
  const stagingDir = input.output.transport === 'oci' ? path.join(path.dirname(input.output.path), `.${path.basename(input.output.path)}.apt-ostree-${process.pid}`) : path.join(input.workDir, 'image')
  await rm(stagingDir, {recursive: true, force: true})
  try {
    return await work(await OciLayout.create(stagingDir))
  } finally {
    await rm(stagingDir, {recursive: true, force: true})
  }
}

/**
 * One commit's image blobs in LAYOUT: its tree read and checked, its
 * components packed (keeping PREVIOUS's grouping), then layers, config and
 * manifest.
 */
async function writePlatformImage(input: WriteContext, source: ImageSource, labels: Record<string, string>, previous: Packing | undefined, layout: OciLayout): Promise<{manifest: Descriptor; config: Descriptor; layers: LayerSummary[]}> {
  input.progress(`reading commit ${source.commit.slice(0, 12)}`)
  const tree = await CommitTree.read(source.repo, source.commit, {log: input.log, signal: input.signal})
  const content = await imageContent(tree)
  if (input.check) await input.check(imageFileTree(tree, content), source)
  // packComponents packs afresh when the previous image has more layers than allowed: say so.
  const packing = packComponents(content.components, input.maxLayers, previous)
  if (previous && previous.length > input.maxLayers) input.warn(`the previous image has ${previous.length} layers, more than --max-layers ${input.maxLayers}: packing afresh`)
  return writeImageBlobs(input, tree.repo.path, layerEntries(content.entries, packing), packing, source.facts, labels, layout)
}

const totalSize = (layers: LayerSummary[]): number => layers.reduce((sum, layer) => sum + layer.size, 0)

/**
 * A commit as an OCI image bootc accepts: plain layers holding the final
 * filesystem, split by package, labelled as ostree-ext labels its images,
 * byte-for-byte the same for the same commit and options.
 */
export async function exportImage(input: ExportInput, facts: CommitFacts): Promise<ImageResult> {
  const labels = imageLabels(facts, input.imageConfig, input.labels)
  // An explicit previous manifest decides the grouping: the output's image is not read then.
  const previous = input.previousBuildManifest ? undefined : await existingManifest(input)
  const expectedMediaType = LAYER_MEDIA_TYPES[input.compression]
  if (
    previous &&
    isDeepStrictEqual(previous.manifest.annotations, labels) &&
    previous.manifest.layers.length <= input.maxLayers &&
    previous.manifest.layers.every((layer) => layer.mediaType === expectedMediaType)
  ) {
    const layers = previous.manifest.layers.map(({mediaType = expectedMediaType, digest, size = 0, annotations}) => ({mediaType, digest, size, annotations, components: (annotations?.[COMPONENTS_ANNOTATION] ?? '').split(',').filter(Boolean)}))
    return {reference: formatImageReference(input.output), manifestDigest: previous.digest, configDigest: previous.manifest.config?.digest ?? '', layers, size: totalSize(layers), unchanged: true}
  }
  const previousPacking = input.previousBuildManifest ? await readPreviousPacking(input.previousBuildManifest) : previous && packingOfManifest(previous.manifest)
  return withStagingLayout(input, async (staging) => {
    const image = await writePlatformImage(input, {repo: input.repo, commit: input.commit, facts}, labels, previousPacking, staging)
    input.progress(`writing ${formatImageReference(input.output)}`)
    await publish(input, staging, image.manifest, facts.filesTimestamp)
    return {reference: formatImageReference(input.output), manifestDigest: image.manifest.digest, configDigest: image.config.digest, layers: image.layers, size: totalSize(image.layers), unchanged: false}
  })
}

/** The grouping of each architecture's image in the index already at an oci: or oci-archive: output. */
async function existingPackings(input: IndexExportInput): Promise<Map<string, Packing>> {
  const packings = new Map<string, Packing>()
  const {output} = input
  if ((output.transport !== 'oci' && output.transport !== 'oci-archive') || !(await pathExists(output.path))) return packings
  // One read of the output (an oci-archive is scanned whole to open it); a platform it lacks, or cannot give, is packed afresh.
  await withImageLayout(output, async (layout, tag) => {
    for (const source of input.sources) {
      const found = await selectManifest(layout, tag, architectureNamed(source.facts.architecture)).catch((error: unknown) => {
        if (input.signal.aborted) throw error
        return undefined
      })
      const packing = found?.fromIndex ? packingOfManifest(found.manifest) : undefined
      if (packing) packings.set(source.facts.architecture, packing)
    }
  }).catch((error: unknown) => {
    if (input.signal.aborted) throw error
  })
  return packings
}

/** What an index refuses of the image options, checked by exportImageIndex and, before any work, by the commands: a previous build manifest names one image. */
export function checkIndexImageOptions(options: Pick<ImageOptions, 'previousBuildManifest'>): void {
  if (options.previousBuildManifest) throw new UsageError('--previous-build-manifest names one image; an index keeps the grouping of the index already at the output')
}

/**
 * Commits of several architectures as one OCI image index: each platform's
 * image as exportImage writes it (its grouping kept from the index already
 * at the output), listed with its platform, in the order given.
 */
export async function exportImageIndex(input: IndexExportInput): Promise<IndexResult> {
  const architectures = input.sources.map((source) => source.facts.architecture)
  const repeated = architectures.find((name, index) => architectures.indexOf(name) !== index)
  if (repeated) throw new UsageError(`two images of ${repeated}: an index holds one image per architecture`)
  checkIndexImageOptions(input)
  const previous = await existingPackings(input)
  return withStagingLayout(input, async (staging) => {
    const platforms: PlatformResult[] = []
    const descriptors: Descriptor[] = []
    for (const source of input.sources) {
      const image = await writePlatformImage(input, source, imageLabels(source.facts, input.imageConfig, input.labels), previous.get(source.facts.architecture), staging)
      const {architecture, variant} = architectureNamed(source.facts.architecture).oci
      descriptors.push({...image.manifest, platform: {architecture, os: 'linux', ...(variant ? {variant} : {})}})
      platforms.push({architecture: source.facts.architecture, commit: source.commit, manifestDigest: image.manifest.digest, configDigest: image.config.digest, layers: image.layers, size: totalSize(image.layers)})
    }
    const index = await staging.writeJson(MEDIA_TYPES.index, {schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: descriptors})
    input.progress(`writing ${formatImageReference(input.output)}`)
    await publish(input, staging, index, Math.max(...input.sources.map((source) => source.facts.filesTimestamp)))
    return {reference: formatImageReference(input.output), indexDigest: index.digest, platforms, size: platforms.reduce((sum, platform) => sum + platform.size, 0)}
  })
}
