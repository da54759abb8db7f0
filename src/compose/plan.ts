import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {printableTreefile, type ResolvedTreefile} from '../treefile/index.js'
import type {OstreeRepo} from '../tools/ostree.js'
import {canonicalJson, sha256} from './canonical.js'
import {fetchReleases, type ReleaseState} from './releases.js'
import {TOOL_VERSION} from '../version.js'

export interface Plan {
  ref: string
  /** The ref's current commit, the parent of the new one. */
  parent?: string
  inputHash: string
  /** Identifies the bootstrapped tree: what mmdebstrap's result depends on. */
  bootstrapHash: string
  sourceDateEpoch: number
  releases: ReleaseState[]
  /** True when the parent carries the same input hash: nothing to do. */
  unchanged: boolean
}

export interface PlanOptions {
  repo: OstreeRepo
  sourceDateEpoch?: number
  /** Command-line metadata; part of the input. */
  extraMetadata: Record<string, string>
  signal: AbortSignal
}

async function fileDigests(files: string[], base: string): Promise<Record<string, string>> {
  const entries = await Promise.all(files.map(async (file) => [path.relative(base, file), sha256(await readFile(file))] as const))
  return Object.fromEntries(entries)
}

/**
 * The input hash (DESIGN section 2): the canonical treefile, the bytes of
 * every file it references, the InRelease digest of every suite, the tool's
 * version. `metadata` is free-form and stays out, as in rpm-ostree.
 */
export async function plan(resolved: ResolvedTreefile, options: PlanOptions): Promise<Plan> {
  const releases = await fetchReleases(resolved, options.signal)
  const sourceDateEpoch = options.sourceDateEpoch ?? Math.max(0, ...releases.map((release) => release.date))
  const base = path.dirname(resolved.path)
  const {metadata: _ignored, ...treefile} = printableTreefile(resolved)
  const digests = await fileDigests(resolved.referencedFiles, base)
  const releaseDigests = releases.map((release) => `${release.url} ${release.sha256}`)
  const inputHash = sha256(canonicalJson({tool: TOOL_VERSION, treefile, files: digests, releases: releaseDigests, sourceDateEpoch, extraMetadata: options.extraMetadata}))
  const t = resolved.treefile
  const bootstrapHash = sha256(
    canonicalJson({
      tool: TOOL_VERSION,
      arch: resolved.arch,
      repos: t.repos,
      // The keyrings are among the referenced files: their digests are already read.
      keyrings: Object.values(resolved.keyrings).map((keyring) => digests[path.relative(base, keyring)]),
      releases: releaseDigests,
      variant: t.variant,
      packages: resolved.packages.map((entry) => entry.spec).sort(),
      exclude: t['exclude-packages'] ?? [],
      recommends: t.recommends,
      documentation: t.documentation,
      langs: t['install-langs'] ?? null,
      sourceDateEpoch,
    }),
  )
  const parent = await options.repo.resolve(t.ref)
  const previousHash = parent ? (await options.repo.metadataStrings(parent, 'apt-ostree.inputhash'))[0] : undefined
  return {ref: t.ref, parent, inputHash, bootstrapHash, sourceDateEpoch, releases, unchanged: previousHash === inputHash}
}

/** strftime's few fields that automatic-version-prefix allows. */
function formatDate(format: string, date: Date): string {
  const pad = (value: number): string => String(value).padStart(2, '0')
  const fields: Record<string, string> = {
    Y: String(date.getUTCFullYear()),
    m: pad(date.getUTCMonth() + 1),
    d: pad(date.getUTCDate()),
    H: pad(date.getUTCHours()),
    M: pad(date.getUTCMinutes()),
    S: pad(date.getUTCSeconds()),
    '%': '%',
  }
  return format.replace(/%(.)/g, (_, field: string) => fields[field] ?? `%${field}`)
}

/**
 * rpm-ostree's automatic versions: the prefix, then prefix.1, prefix.2, ...
 * while the previous version has the same prefix. With `<date:...>` the
 * first build of a day is prefix.0.
 */
export function nextVersion(prefix: string | undefined, suffix: string, previous: string | undefined, now: Date): string | undefined {
  if (!prefix) return undefined
  const hasDate = /<date:[^>]*>/.test(prefix)
  const base = prefix.replace(/<date:([^>]*)>/g, (_, format: string) => formatDate(format, now))
  const first = hasDate ? `${base}${suffix}0` : base
  if (!previous) return first
  if (previous === base) return `${base}${suffix}1`
  const counter = previous.startsWith(base + suffix) ? previous.slice(base.length + 1) : undefined
  if (counter !== undefined && /^\d+$/.test(counter)) return `${base}${suffix}${Number(counter) + 1}`
  return first
}

