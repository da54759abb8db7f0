import {installedPackages} from '../dpkg/status.js'
import {writeOutput} from '../fs.js'
import type {LintFinding} from '../lint/run.js'
import {DPKG_DATABASE} from '../ostree/layout.js'
import {OstreeRepo} from '../tools/ostree.js'
import type {CommitImageResult} from './image.js'
import type {CacheUse, ComposeResult} from './tree.js'

/**
 * `--write-report-to`: what a build did, for CI to keep and diff. Its
 * field order is fixed (built in this order, written as is); `timings` is
 * the one field two builds of the same inputs from equal caches differ in.
 */
export interface BuildReport {
  ref: string
  commit: string
  version: string | null
  inputhash: string
  unchanged: boolean
  /** Seconds per stage, the image's included. */
  timings: Record<string, number>
  packages: {
    count: number
    /** Bytes installed, by dpkg's Installed-Size. */
    installedSize: number
  }
  cache: CacheUse
  /** null without an image. */
  image: {
    manifestDigest: string
    configDigest: string
    /** Compressed bytes of all layers. */
    size: number
    unchanged: boolean
    layers: Array<{digest: string; size: number; components: string[]}>
  } | null
  /** What bootc's lint found in the image; null when it did not run (no image, or the image at the output was kept). */
  lint: LintFinding[] | null
}

/** The report of a compose and the image written from it, with the package sizes read from the commit's dpkg status. */
export async function buildReport(compose: ComposeResult, image?: CommitImageResult): Promise<BuildReport> {
  const status = await new OstreeRepo(compose.repo).readText(compose.commit, `/${DPKG_DATABASE}/status`)
  const packages = installedPackages(status ?? '')
  return {
    ref: compose.ref,
    commit: compose.commit,
    version: compose.version ?? null,
    inputhash: compose.inputhash,
    unchanged: compose.unchanged,
    timings: image ? {...compose.timings, image: image.seconds} : compose.timings,
    packages: {count: packages.length, installedSize: packages.reduce((sum, pkg) => sum + pkg.installedSize * 1024, 0)},
    cache: compose.cache,
    image: image
      ? {
          manifestDigest: image.manifestDigest,
          configDigest: image.configDigest,
          size: image.size,
          unchanged: image.unchanged,
          layers: image.layers.map(({digest, size, components}) => ({digest, size, components})),
        }
      : null,
    lint: image?.lint ?? null,
  }
}

export async function writeBuildReport(file: string, compose: ComposeResult, image?: CommitImageResult): Promise<void> {
  await writeOutput(file, JSON.stringify(await buildReport(compose, image), null, 2) + '\n')
}
