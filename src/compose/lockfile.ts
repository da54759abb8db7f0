import {describePackages, storeIndices, type ArchiveStore} from '../archive/capture.js'
import type {ReleaseState} from '../archive/releases.js'
import {AptOstreeError} from '../errors.js'
import type {ResolvedTreefile} from '../treefile/index.js'
import type {JobContext} from '../workspace.js'

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

/** `name=version:arch` (dpkg/status.ts's package id) split; the version may hold colons (an epoch). */
export function parsePackageId(id: string): {name: string; version: string; architecture: string} {
  const equals = id.indexOf('=')
  const colon = id.lastIndexOf(':')
  if (equals <= 0 || colon <= equals + 1 || colon === id.length - 1) throw new AptOstreeError(`${JSON.stringify(id)}: not a package id (name=version:arch)`)
  return {name: id.slice(0, equals), version: id.slice(equals + 1, colon), architecture: id.slice(colon + 1)}
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * The lockfile of PACKAGES (package ids) installed from RELEASES: each .deb's
 * digest is read from the repos' Packages indices, fetched into STORE where
 * it has not got them.
 */
export async function lockfileOf(packages: string[], releases: ReleaseState[], resolved: ResolvedTreefile, store: ArchiveStore, context: JobContext): Promise<Lockfile> {
  const indices = await storeIndices(resolved, releases, store, context)
  const described = await describePackages(indices, store, packages.map(parsePackageId))
  const locked: Record<string, LockedPackage> = {}
  for (const pkg of [...described].sort((a, b) => byText(a.name, b.name) || byText(a.architecture, b.architecture))) {
    // One name twice is one package of two architectures (multiarch): the second is named with its own.
    const key = pkg.name in locked ? `${pkg.name}:${pkg.architecture}` : pkg.name
    locked[key] = {version: pkg.version, architecture: pkg.architecture, digest: `sha256:${pkg.sha256}`}
  }
  const archives = releases
    .map((release) => ({repo: release.repo, uri: release.uri, suite: release.suite, inrelease: `sha256:${release.sha256}`, date: new Date(release.date * 1000).toISOString()}))
    .sort((a, b) => byText(a.repo, b.repo) || byText(a.uri, b.uri) || byText(a.suite, b.suite))
  return {packages: locked, metadata: {archives}}
}

/** The lockfile as its file holds it. */
export function renderLockfile(lockfile: Lockfile): string {
  return JSON.stringify(lockfile, null, 2) + '\n'
}
