import {readFile} from 'node:fs/promises'
import {AptOstreeError, ExitCode, UsageError} from '../errors.js'

/** Files no package owns (the dpkg database, generated config, ...): a layer of their own. */
export const UNPACKAGED = 'apt-ostree-unpackaged-content'
/** The initramfs is built by the compose, not shipped by a package: alone, like rpm-ostree does. */
export const INITRAMFS = 'initramfs'
/** The layer annotation naming a layer's packages, as ostree-ext writes it. */
export const COMPONENTS_ANNOTATION = 'ostree.components'
export const DEFAULT_MAX_LAYERS = 64
export const MIN_LAYERS = 4

export interface Component {
  name: string
  /** Bytes of content it contributes. */
  size: number
}

/** Each layer's component names, in manifest order. */
export type Packing = string[][]

/** `--max-layers`: refused before any work when too small for the layers packComponents always makes. */
export function checkMaxLayers(maxLayers: number): void {
  if (!Number.isInteger(maxLayers) || maxLayers < MIN_LAYERS) throw new UsageError(`--max-layers must be an integer of at least ${MIN_LAYERS} (got ${maxLayers})`)
}

/**
 * Group components into at most `maxLayers` layers, rpm-ostree style: the
 * biggest (the kernel, its modules, the initramfs, ...) alone, the long
 * tail together, unowned files in a layer of their own, and a last empty
 * layer reserved for packages added later. With a previous packing, keep
 * its grouping: removed components drop out, new ones join the last layer,
 * so one added package changes one package layer.
 */
export function packComponents(components: Component[], maxLayers: number, previous?: Packing): Packing {
  checkMaxLayers(maxLayers)
  const present = new Set(components.map((component) => component.name))
  if (previous && previous.length <= maxLayers && previous.length > 0) {
    const placed = new Set(previous.flat())
    const packing = previous.map((names) => names.filter((name) => present.has(name)))
    const added = [...present].filter((name) => !placed.has(name)).sort()
    packing[packing.length - 1] = [...packing[packing.length - 1], ...added].sort()
    return packing
  }
  const ranked = components.filter((component) => component.name !== UNPACKAGED).sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1))
  const budget = maxLayers - 2
  const packing: Packing =
    ranked.length <= budget
      ? ranked.map((component) => [component.name])
      : [...ranked.slice(0, budget - 1).map((component) => [component.name]), ranked.slice(budget - 1).map((component) => component.name).sort()]
  if (present.has(UNPACKAGED)) packing.push([UNPACKAGED])
  packing.push([])
  return packing
}

/** A layer's name in the image history, as ostree-ext names chunks. */
export function layerName(names: string[]): string {
  if (names.length === 0) return 'Reserved for new packages'
  if (names.length <= 5) return names.join(' and ')
  return `${names.length} components`
}

interface ManifestLike {
  layers?: Array<{annotations?: Record<string, string>}>
}

/** The packing recorded in a manifest's layer annotations; undefined when a layer has none. */
export function packingOfManifest(manifest: ManifestLike): Packing | undefined {
  if (!Array.isArray(manifest.layers) || manifest.layers.length === 0) return undefined
  const packing: Packing = []
  for (const layer of manifest.layers) {
    const names = layer?.annotations?.[COMPONENTS_ANNOTATION]
    if (typeof names !== 'string') return undefined
    packing.push(names ? names.split(',') : [])
  }
  return packing
}

/** `--previous-build-manifest FILE`: an OCI manifest whose layers carry ostree.components. */
export async function readPreviousPacking(file: string): Promise<Packing> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`${file}: cannot read the previous build manifest (${error.code ?? error.message})`)
  })
  let manifest: unknown
  try {
    manifest = JSON.parse(text)
  } catch (error) {
    throw new UsageError(`${file}: the previous build manifest is not valid JSON (${(error as Error).message})`)
  }
  const packing = typeof manifest === 'object' && manifest !== null ? packingOfManifest(manifest as ManifestLike) : undefined
  if (!packing) throw new AptOstreeError(`${file}: not an image manifest with ${COMPONENTS_ANNOTATION} on every layer (missing ${COMPONENTS_ANNOTATION} on prior build)`, ExitCode.usage)
  return packing
}
