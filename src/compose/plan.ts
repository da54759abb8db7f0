import {canonicalJson, sha256} from '../hash.js'
import {printableTreefile, type ResolvedTreefile} from '../treefile/index.js'
import type {ReleaseState} from '../archive/releases.js'
import {inputKey} from './inputs.js'

/** What the ref's current commit says about itself: the parent of the next one. */
export interface ParentCommit {
  commit: string
  /** Seconds since the epoch. */
  timestamp: number
  version?: string
  inputHash?: string
  /** `name=version:arch`, as the commit metadata lists them. */
  packages: string[]
}

/** Everything the plan depends on, gathered by gatherPlanInputs (which does the I/O). */
export interface PlanInputs {
  resolved: ResolvedTreefile
  /** sha256 of each file the treefile references, by inputKey. */
  fileDigests: Record<string, string>
  /** The InRelease of every repo suite. */
  releases: ReleaseState[]
  parent?: ParentCommit
  /** `--source-date-epoch` or $SOURCE_DATE_EPOCH, when given. */
  sourceDateEpoch?: number
  /** Command-line metadata; part of the input. */
  extraMetadata: Record<string, string>
  toolVersion: string
  /** sha256 of the tool's code (version.ts): in the input hash, not in the bootstrap hash, whose cache is checked by digest. */
  toolCode: string
  /** The digest of --lockfile's lock (archive/lockfile.ts), when there is one: it changes what is installed. */
  lock?: string
  /** The build date, for `<date:...>` in automatic versions. */
  now: Date
  /** `--force-nocache`: build even when the inputs did not change. */
  forceNocache: boolean
}

/**
 * What the input hash covers, each part as a digest or a small value: the
 * compose JSON and the commit (`apt-ostree.inputs`) record it, so that two
 * builds' inputs can be told apart part by part.
 */
export interface InputParts {
  /** The tool's version and the sha256 of its code. */
  tool: string
  toolCode: string
  /** sha256 of the canonical merged treefile (its free-form `metadata` left out). */
  treefile: string
  /** sha256 of each file the treefile references, by inputKey. */
  files: Record<string, string>
  /** sha256 of each suite's InRelease, by its URL. */
  releases: Record<string, string>
  sourceDateEpoch: number
  extraMetadata: Record<string, string>
  /** The digest of --lockfile's lock, when there is one. */
  lock?: string
}

export interface Plan {
  ref: string
  parent?: ParentCommit
  inputs: InputParts
  /** sha256 of the canonical InputParts. */
  inputHash: string
  /** Identifies the bootstrapped tree: what mmdebstrap's result depends on. */
  bootstrapHash: string
  /** The time of every file the tree is built from (dracut, mmdebstrap, the image's mtimes). */
  sourceDateEpoch: number
  /**
   * The commit's timestamp: SOURCE_DATE_EPOCH, or one second after the
   * parent's when that is not older, so that a machine's ostree, which
   * refuses a commit older than the one it runs, tells an upgrade from a
   * downgrade. The same inputs on the same parent give the same timestamp.
   * (Image layers take their mtimes from SOURCE_DATE_EPOCH, not from this.)
   */
  timestamp: number
  version?: string
  releases: ReleaseState[]
  /** The parent carries the same input hash (and no rebuild was forced): nothing to do. */
  unchanged: boolean
}

/**
 * The compose plan, a pure function of its inputs. The input hash covers the
 * canonical treefile, the bytes of every file it references, the InRelease
 * digest of every suite, SOURCE_DATE_EPOCH, the command-line metadata and
 * the tool's version and code, the lock; `metadata` is free-form and stays out, as in rpm-ostree.
 */
export function plan(inputs: PlanInputs): Plan {
  const {resolved, releases, parent} = inputs
  const sourceDateEpoch = inputs.sourceDateEpoch ?? Math.max(0, ...releases.map((release) => release.date))
  const {metadata: _ignored, ...treefile} = printableTreefile(resolved)
  const parts: InputParts = {
    tool: inputs.toolVersion,
    toolCode: inputs.toolCode,
    treefile: sha256(canonicalJson(treefile)),
    files: inputs.fileDigests,
    releases: Object.fromEntries(releases.map((release) => [release.url, release.sha256])),
    sourceDateEpoch,
    extraMetadata: inputs.extraMetadata,
    lock: inputs.lock,
  }
  const inputHash = sha256(canonicalJson(parts))
  const t = resolved.treefile
  const bootstrapHash = sha256(
    canonicalJson({
      tool: inputs.toolVersion,
      arch: resolved.arch,
      repos: t.repos,
      keyrings: Object.values(resolved.keyrings).map((keyring) => inputs.fileDigests[inputKey(resolved, keyring)]),
      releases: parts.releases,
      variant: t.variant,
      packages: resolved.packages.map((entry) => entry.spec).sort(),
      exclude: t['exclude-packages'] ?? [],
      recommends: t.recommends,
      documentation: t.documentation,
      langs: t['install-langs'] ?? null,
      sourceDateEpoch,
      lock: inputs.lock,
    }),
  )
  const unchanged = !inputs.forceNocache && parent?.inputHash === inputHash
  return {
    ref: t.ref,
    parent,
    inputs: parts,
    inputHash,
    bootstrapHash,
    sourceDateEpoch,
    timestamp: parent && parent.timestamp >= sourceDateEpoch ? parent.timestamp + 1 : sourceDateEpoch,
    version: unchanged ? parent?.version : (inputs.extraMetadata.version ?? nextVersion(t['automatic-version-prefix'], t['automatic-version-suffix'], parent?.version, inputs.now)),
    releases,
    unchanged,
  }
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
  const counter = previous.startsWith(base + suffix) ? previous.slice(base.length + suffix.length) : undefined
  if (counter !== undefined && /^\d+$/.test(counter)) return `${base}${suffix}${Number(counter) + 1}`
  return first
}
