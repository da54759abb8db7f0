import {readFileSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {Ajv2020, type ValidateFunction} from 'ajv/dist/2020.js'
import {formatLocation, UsageError} from '../errors.js'
import {canonicalJson, sha256} from '../hash.js'
import type {SimulatedPackage} from '../tools/mmdebstrap.js'
import {compareText} from '../text.js'
import {fileStart, keyPath, locate} from '../treefile/location.js'
import {parseText} from '../treefile/source.js'
import type {PackageFile} from './packages.js'
import type {ReleaseState} from './releases.js'

/**
 * What a compose installed, in a form a later compose can take back
 * (schemas/lockfile.schema.json): every package's version, architecture and
 * .deb digest, and the state of every archive suite it came from. Keys are
 * sorted and nothing in it depends on when it was written, so the same
 * compose writes the same bytes.
 */
export interface Lockfile {
  packages: Record<string, LockedPackage>
  metadata: {archives: LockedArchive[]}
}

export interface LockedPackage {
  version: string
  architecture: string
  /** `sha256:HEX` of the .deb, as the archive's Packages index gives it. */
  digest: string
}

/** One suite of one archive URI, as its InRelease said. */
export interface LockedArchive {
  repo: string
  uri: string
  suite: string
  /** `sha256:HEX` of the InRelease, byte for byte. */
  inrelease: string
  /** Its Date field, as an ISO 8601 UTC time. */
  date: string
}

/**
 * The lockfile of PACKAGES, the set apt resolved against RELEASES (every
 * .deb the bootstrap fetches, also one that dpkg later drops as
 * "disappeared", as bookworm's empty lsb-base), each with the .deb the
 * repos' Packages indices describe.
 */
export function lockfileOf(packages: PackageFile[], releases: ReleaseState[]): Lockfile {
  const locked: Record<string, LockedPackage> = {}
  for (const pkg of [...packages].sort((a, b) => compareText(a.name, b.name) || compareText(a.architecture, b.architecture))) {
    // One name twice is one package of two architectures (multiarch): the second is named with its own.
    const key = pkg.name in locked ? `${pkg.name}:${pkg.architecture}` : pkg.name
    locked[key] = {version: pkg.version, architecture: pkg.architecture, digest: `sha256:${pkg.sha256}`}
  }
  const archives = releases
    .map((release) => ({repo: release.repo, uri: release.uri, suite: release.suite, inrelease: `sha256:${release.sha256}`, date: new Date(release.date * 1000).toISOString()}))
    .sort((a, b) => compareText(a.repo, b.repo) || compareText(a.uri, b.uri) || compareText(a.suite, b.suite))
  return {packages: locked, metadata: {archives}}
}

/** The lockfile as its file holds it. */
export function renderLockfile(lockfile: Lockfile): string {
  return JSON.stringify(lockfile, null, 2) + '\n'
}

/** Lockfiles are a few hundred packages: anything much larger is a mistake. */
const MAX_LOCKFILE_BYTES = 16 * 1024 * 1024

let compiled: ValidateFunction | undefined

function validator(): ValidateFunction {
  compiled ??= new Ajv2020({allErrors: false, strict: true}).compile(JSON.parse(readFileSync(new URL('../../schemas/lockfile.schema.json', import.meta.url), 'utf8')) as object)
  return compiled
}

/** One lockfile, checked against its schema; a mistake is a usage error at its line and column. */
async function readLockfile(file: string): Promise<Lockfile> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`--lockfile ${file}: cannot read it (${error.code ?? error.message})`)
  })
  const start = fileStart(file)
  if (text.length > MAX_LOCKFILE_BYTES) throw new UsageError(`${formatLocation(start)}: a lockfile of more than ${MAX_LOCKFILE_BYTES / 1024 / 1024} MiB; refusing it`)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    const offset = Number(/position (\d+)/.exec((error as Error).message)?.[1] ?? 0)
    const before = text.slice(0, offset).split('\n')
    throw new UsageError(`${formatLocation({...start, line: before.length, col: before.at(-1)!.length + 1})}: not JSON (${(error as Error).message.replace(/ in JSON at position \d+.*$/, '')})`)
  }
  const validate = validator()
  if (!validate(value)) {
    const [first] = validate.errors ?? []
    const parsed = parseText(text, file)
    const at = parsed.ok ? locate(parsed.file.origins, first.instancePath, start) : start
    const subject = first.instancePath ? `"${keyPath(first.instancePath)}"` : 'the lockfile'
    throw new UsageError(`${formatLocation(at)}: ${subject} ${first.message ?? 'is not valid'}`)
  }
  return value as Lockfile
}

/** LOCKFILES read and merged: for a package or a suite in several, the later file wins (as rpm-ostree's --lockfile). */
export async function loadLockfiles(files: string[]): Promise<Lockfile> {
  const packages: Record<string, LockedPackage> = {}
  const archives = new Map<string, LockedArchive>()
  for (const file of files) {
    const lockfile = await readLockfile(file)
    Object.assign(packages, lockfile.packages)
    for (const archive of lockfile.metadata.archives) archives.set(`${archive.repo} ${archive.uri} ${archive.suite}`, archive)
  }
  return {packages: Object.fromEntries(Object.entries(packages).sort(([a], [b]) => compareText(a, b))), metadata: {archives: [...archives.values()]}}
}

/** What goes into the input and bootstrap hashes: the merged lock and whether it is strict. */
export function lockDigest(lockfile: Lockfile, strict: boolean): string {
  return sha256(canonicalJson({packages: lockfile.packages, strict}))
}

/** The preferences file's name: the bootstrap removes it from the tree once the packages are in. */
export const LOCK_PREFERENCES = 'apt-ostree-lock.pref'

/**
 * apt preferences holding every locked package at its version. Priority
 * 1001 makes apt take that version even where the archive has a newer one;
 * where the archive no longer has it apt takes another, and
 * lockDifferences names it. Names and versions passed the schema's
 * patterns: they cannot break a stanza.
 */
export function lockPreferences(lockfile: Lockfile): string {
  return Object.entries(lockfile.packages)
    .map(([key, pkg]) => `Package: ${key}\nPin: version ${pkg.version}\nPin-Priority: 1001\n`)
    .join('\n')
}

/**
 * How the package set apt resolved differs from the lock: a locked package
 * at another version (the archive no longer has the locked one) always,
 * and with STRICT a package the lock lacks or a locked one not resolved.
 */
export function lockDifferences(resolved: SimulatedPackage[], lockfile: Lockfile, strict: boolean): string[] {
  const locked = new Map(Object.entries(lockfile.packages).map(([key, pkg]) => [`${key.split(':')[0]}:${pkg.architecture}`, pkg]))
  const differences: string[] = []
  const seen = new Set<string>()
  for (const pkg of resolved) {
    const key = `${pkg.name}:${pkg.architecture}`
    seen.add(key)
    const lock = locked.get(key)
    if (lock && lock.version !== pkg.version) differences.push(`${pkg.name} locked at ${lock.version}, but the repos give ${pkg.version} (they no longer have ${lock.version})`)
    else if (!lock && strict) differences.push(`${pkg.name} ${pkg.version} is not in the lockfile`)
  }
  if (strict) {
    for (const [key, pkg] of locked) if (!seen.has(key)) differences.push(`${key.split(':')[0]} ${pkg.version} is in the lockfile but not in the resolved set (the repos no longer have it, or nothing needs it)`)
  }
  return differences
}
