import {stat} from 'node:fs/promises'
import path from 'node:path'
import {Flags} from '@oclif/core'
import {exportCommitImage, exportCommitImageIndex, type CommitImageResult, type CommitIndexResult} from '../compose/image.js'
import type {PublishOptions} from '../compose/publish.js'
import type {Reporter} from '../compose/reporter.js'
import {composeTrees, type ComposeResult} from '../compose/tree.js'
import {UsageError} from '../errors.js'
import {assertWritable, pathExists} from '../fs.js'
import {checkMaxLayers, DEFAULT_MAX_LAYERS, MIN_LAYERS, readPreviousPacking} from '../oci/chunking.js'
import {readImageConfig} from '../oci/config.js'
import {checkIndexImageOptions, type ImageOptions, type ImageResult, type IndexResult} from '../oci/export.js'
import {parseImageReference, type ImageReference} from '../oci/reference.js'
import type {Compression} from '../oci/blob.js'
import {loadTreefile, type ResolvedTreefile} from '../treefile/index.js'
import {parseCredentials} from '../tools/skopeo.js'
import {composeOptions, type ComposeFlagValues} from './compose-flags.js'

/** Flags of every command that writes an image (`compose tree --container`, `compose image`, `container-encapsulate`). */
export const imageFlags = {
  label: Flags.string({description: 'Image label KEY=VALUE (repeatable); also a manifest annotation.', multiple: true}),
  'max-layers': Flags.integer({description: `Most layers the packages are split into (at least ${MIN_LAYERS}).`, default: DEFAULT_MAX_LAYERS}),
  compression: Flags.string({description: 'Layer compression.', options: ['gzip', 'zstd', 'none'], default: 'gzip'}),
  'previous-build-manifest': Flags.string({description: 'Manifest JSON of a previous build whose layer grouping to keep (default: the image already at the output).'}),
  'image-config': Flags.string({description: 'JSON file with the "config" part of an OCI image config (Env, Cmd, Entrypoint, Labels, ...).'}),
  'skip-lint': Flags.string({description: 'Lint rule to skip on the image (repeatable).', multiple: true}),
  'dest-tls-verify': Flags.boolean({description: 'Require HTTPS and verify certificates when pushing to a registry (skopeo\'s default).', allowNo: true}),
  authfile: Flags.string({description: 'Registry auth file for skopeo (containers-auth.json(5)).'}),
  creds: Flags.string({description: 'Registry credentials USERNAME:PASSWORD for a docker:// output. skopeo reads them from a private auth file, never from its command line; with --authfile too, they win for the output\'s registry, as with skopeo.'}),
}

export interface ImageFlagValues {
  label?: string[]
  'max-layers': number
  compression: string
  'previous-build-manifest'?: string
  'image-config'?: string
  'dest-tls-verify'?: boolean
  authfile?: string
  creds?: string
}

/**
 * Fail before any work when the output cannot be written: a compose takes
 * minutes, an unwritable path should take none.
 */
async function checkOutput(reference: ImageReference): Promise<void> {
  if (reference.transport !== 'oci' && reference.transport !== 'oci-archive') return
  await assertWritable(reference.path, `--output ${reference.path}`)
  if (!(await pathExists(reference.path))) return
  const isDirectory = (await stat(reference.path)).isDirectory()
  if (reference.transport === 'oci' && (!isDirectory || !(await pathExists(path.join(reference.path, 'oci-layout'))))) {
    throw new UsageError(`--output ${reference.path}: exists and is not an OCI layout directory; choose another path or remove it`)
  }
  if (reference.transport === 'oci-archive' && isDirectory) throw new UsageError(`--output ${reference.path}: is a directory; an oci-archive is a file`)
}

function parseLabels(entries: string[]): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const entry of entries) {
    const separator = entry.indexOf('=')
    if (separator <= 0) throw new UsageError(`--label ${entry}: expected KEY=VALUE`)
    labels[entry.slice(0, separator)] = entry.slice(separator + 1)
  }
  return labels
}

/** Parse and check the image flags and the output reference, before any compose work. */
export async function parseImageOptions(output: string, flags: ImageFlagValues): Promise<ImageOptions> {
  const reference = parseImageReference(output)
  checkMaxLayers(flags['max-layers'])
  const options: ImageOptions = {
    output: reference,
    labels: parseLabels(flags.label ?? []),
    maxLayers: flags['max-layers'],
    compression: flags.compression as Compression,
    previousBuildManifest: flags['previous-build-manifest'],
    imageConfig: flags['image-config'] ? await readImageConfig(flags['image-config']) : undefined,
    access: {tlsVerify: flags['dest-tls-verify'], authfile: flags.authfile, credentials: flags.creds === undefined ? undefined : parseCredentials(flags.creds)},
  }
  // Read it now: a corrupt manifest should fail before the compose, not after.
  if (options.previousBuildManifest) await readPreviousPacking(options.previousBuildManifest)
  await checkOutput(reference)
  return options
}

/** The lines a command prints about the image it wrote. */
export function describeImage(result: ImageResult): string {
  if (result.unchanged) return `image:    ${result.reference} already holds this commit (${result.manifestDigest})`
  const packages = result.layers.reduce((sum, layer) => sum + layer.components.length, 0)
  return [
    `image:    ${result.reference}`,
    `digest:   ${result.manifestDigest}`,
    `layers:   ${result.layers.length} (${packages} components), ${(result.size / 1e6).toFixed(1)} MB compressed`,
  ].join('\n')
}

/** The lines a command prints about the index it wrote. */
export function describeIndex(result: IndexResult): string {
  return [
    `image:    ${result.reference} (an index of ${result.platforms.length} platforms)`,
    `digest:   ${result.indexDigest}`,
    ...result.platforms.map((platform) => `${`${platform.architecture}:`.padEnd(10)}${platform.manifestDigest}, ${platform.layers.length} layers, ${(platform.size / 1e6).toFixed(1)} MB compressed (commit ${platform.commit.slice(0, 12)})`),
  ].join('\n')
}

type ImageCommandFlags = {cachedir: string; 'skip-lint'?: string[]}

function exportOptions(image: ImageOptions, repo: string, flags: ImageCommandFlags, note: (line: string) => void) {
  return {...image, repo, cacheDir: flags.cachedir, skipLint: flags['skip-lint'] ?? [], progress: (line: string) => note(`image: ${line}`), warn: (message: string) => note(`warning: ${message}`)}
}

/** Write the commit a compose made (or any commit of a repo) as the image the flags describe. */
export function writeCommitImage(image: ImageOptions, source: {repo: string; ref: string}, flags: ImageCommandFlags, note: (line: string) => void): Promise<CommitImageResult> {
  return exportCommitImage({...exportOptions(image, source.repo, flags, note), ref: source.ref})
}

/** Write commits of several architectures (one compose each) as one image index. */
export function writeCommitImageIndex(image: ImageOptions, source: {repo: string; refs: string[]}, flags: ImageCommandFlags, note: (line: string) => void): Promise<CommitIndexResult> {
  return exportCommitImageIndex({...exportOptions(image, source.repo, flags, note), refs: source.refs})
}

/**
 * What an index cannot be written to or with, refused before any work
 * (container-encapsulate would pull the commits into the cache first):
 * containers-storage keeps one image; a previous build manifest names one.
 */
export function checkIndexOutput(image: ImageOptions): void {
  if (image.output.transport === 'containers-storage') throw new UsageError('containers-storage keeps one image, not an index of several architectures: write to oci:, oci-archive: or docker://')
  checkIndexImageOptions(image)
}

/**
 * Several --arch: one compose each and one index. Refused before any work:
 * what holds one image or one compose's result (the per-compose files would
 * hold the last architecture's only).
 */
function checkIndexOptions(image: ImageOptions, flags: ComposeFlagValues & ImageFlagValues): void {
  for (const flag of ['previous-build-manifest', 'write-commitid-to', 'write-composejson-to', 'write-lockfile-to', 'write-report-to'] as const) {
    if (flags[flag]) throw new UsageError(`--${flag} is for one architecture's build; compose each --arch on its own to use it`)
  }
  checkIndexOutput(image)
}

/** What composing several architectures into one index did: the index and each architecture's compose. */
export type ComposedIndex = CommitIndexResult & {composes: ComposeResult[]}

/**
 * compose image and compose tree --container with several --arch: every
 * architecture's treefile, options and host checked first, then one compose
 * each and one index of their commits at OUTPUT.
 */
export async function composeImageIndex(
  input: {treefile: string; output: string; architectures: string[]; publish?: (resolved: ResolvedTreefile) => PublishOptions},
  flags: ComposeFlagValues & ImageFlagValues & ImageCommandFlags,
  context: {reporter: Reporter; note: (line: string) => void},
): Promise<ComposedIndex> {
  const resolved = await Promise.all(input.architectures.map((arch) => loadTreefile(input.treefile, {arch})))
  const image = await parseImageOptions(input.output, flags)
  checkIndexOptions(image, flags)
  const options = await Promise.all(resolved.map((each) => composeOptions(flags, each, input.publish?.(each))))
  const composes = await composeTrees(options, context.reporter)
  const index = await writeCommitImageIndex(image, {repo: composes[0].repo, refs: composes.map((compose) => compose.commit)}, flags, context.note)
  return {...index, composes}
}
