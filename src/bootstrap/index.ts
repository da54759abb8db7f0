import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {emulationEnvironment, isForeign} from '../arch.js'
import {describePackages, storeDebs, storeIndices, writeLocalArchive, type ArchiveStore, type IndexFile} from '../archive/capture.js'
import {LOCK_PREFERENCES, lockDifferences, lockPreferences, type Lockfile} from '../archive/lockfile.js'
import type {PackageFile} from '../archive/packages.js'
import {archiveDirectory, type ReleaseState} from '../archive/releases.js'
import {AptOstreeError, ExitCode, formatLocation, ToolError} from '../errors.js'
import {makeOwnedDirectory} from '../fs.js'
import {SANDBOX_PATH, type Sandbox} from '../sandbox/bwrap.js'
import {DEB_READERS, NATIVE_DIR, prepareNativePrograms} from '../sandbox/native-programs.js'
import {mmdebstrapCommand, parseSimulation, simulateCommand, type PackageSelection, type SimulatedPackage} from '../tools/mmdebstrap.js'
import type {ResolvedTreefile} from '../treefile/index.js'
import type {JobContext} from '../workspace.js'
import {dpkgFilters, excludePreferences, renderSources} from './sources.js'

export interface BootstrapInput {
  resolved: ResolvedTreefile
  /** The InRelease of every repo suite, checked by the plan. */
  releases: ReleaseState[]
  /** The keyring each repo is checked with, by repo name (host paths under the cache dir). */
  keyrings: Record<string, string>
  store: ArchiveStore
  sandbox: Sandbox
  /** Who must own what the host makes for the sandbox to write (Workspace.sandboxOwner). */
  sandboxOwner?: {uid: number; gid: number}
  sourceDateEpoch: number
  /** Its scratch directory (under the cache dir) holds the local archive and the sources and preferences files. */
  context: JobContext & {scratch: string}
  /** Versions to hold the packages at (--lockfile). */
  lock?: PackageLock
}

/** --lockfile: the merged lockfiles, their names, and --lockfile-strict. */
export interface PackageLock {
  lockfile: Lockfile
  files: string[]
  strict: boolean
}

/** A package of the resolved set, with the .deb the archive has for it. */
export type ResolvedPackage = PackageFile & {release: ReleaseState}

interface Prepared {
  selection: PackageSelection
  indices: IndexFile[]
  archive: string
  /** Host paths, all in one directory; the lock's are not kept in the tree. */
  preferences: Array<{file: string; keep: boolean}>
  /**
   * What mmdebstrap reads besides its target (host paths): the local
   * archive, the sources and preferences, the keyrings. Package code sees
   * what mmdebstrap sees (its chroot's /proc/1/root is mmdebstrap's view),
   * so a bootstrap is granted these and its target, nothing else of the
   * cache: no other tree, no record, no log.
   */
  reads: string[]
}

/**
 * The local archive with the repos' indices, and mmdebstrap's selection
 * reading from it: the network is used here, by apt-ostree itself, and
 * never again once package code runs.
 */
async function prepare(input: BootstrapInput, target: string): Promise<Prepared> {
  const {resolved, sandbox, context} = input
  const indices = await storeIndices(resolved, input.releases, input.store, context)
  const archive = path.join(context.scratch, 'archive')
  await writeLocalArchive(archive, input.releases, indices, [], input.store)
  // mmdebstrap names the tree's sources file after this one (0000apt-ostree.sources): the upload of the kept one replaces it.
  const sources = path.join(bootstrapFiles(context.scratch), 'apt-ostree.sources')
  await mkdir(path.dirname(sources), {recursive: true})
  await writeFile(
    sources,
    renderSources(resolved, {
      uris: (repoIndex) => resolved.treefile.repos[repoIndex].uris.map((_, uriIndex) => `copy://${sandbox.inside(path.join(archive, archiveDirectory(resolved.treefile.repos[repoIndex].name, uriIndex)))}`),
      keyring: (name) => (input.keyrings[name] ? sandbox.inside(input.keyrings[name]) : undefined),
    }),
  )
  const preferences: Prepared['preferences'] = []
  for (const [name, text, keep] of [
    ['apt-ostree-exclude.pref', excludePreferences(resolved), true],
    [LOCK_PREFERENCES, input.lock && lockPreferences(input.lock.lockfile), false],
  ] as const) {
    if (!text) continue
    const file = path.join(context.scratch, 'preferences.d', name)
    await mkdir(path.dirname(file), {recursive: true})
    await writeFile(file, text)
    preferences.push({file, keep})
  }
  const selection = {
    suite: resolved.treefile.repos[0].suites[0],
    target: sandbox.inside(target),
    sourcesFile: sandbox.inside(sources),
    variant: resolved.treefile.variant,
    arch: resolved.arch,
    packages: resolved.packages.map((entry) => entry.spec),
    recommends: resolved.treefile.recommends,
    dpkgOptions: dpkgFilters(resolved),
  }
  const keyrings = Object.values(input.keyrings)
  const reads = [archive, path.dirname(sources), ...(preferences.length > 0 ? [path.dirname(preferences[0].file)] : []), ...keyrings]
  return {selection, indices, archive, preferences, reads}
}

/** The directory of the files mmdebstrap reads that the tool writes for it (sources). */
function bootstrapFiles(scratch: string): string {
  return path.join(scratch, 'bootstrap')
}

/** mmdebstrap's target, an empty directory the sandbox writes: granted to the job, so it must be there. */
function emptyTarget(input: BootstrapInput, target: string): Promise<string> {
  return makeOwnedDirectory(target, input.sandboxOwner)
}

/**
 * apt's simulation of the install: the package set, checked against the
 * lock when there is one (a locked version the repos no longer have; with
 * strict, any difference), before anything is fetched or installed.
 */
async function simulate(input: BootstrapInput, prepared: Prepared): Promise<SimulatedPackage[]> {
  const lines: string[] = []
  const preferences = prepared.preferences.length > 0 ? input.sandbox.inside(path.dirname(prepared.preferences[0].file)) : undefined
  // mmdebstrap makes its target even when it only simulates: one of its own.
  const target = await emptyTarget(input, path.join(input.context.scratch, 'simulated-root'))
  const selection = {...prepared.selection, target: input.sandbox.inside(target)}
  await input.sandbox
    .run(simulateCommand(selection, preferences), {
      label: 'mmdebstrap --simulate',
      grant: {write: [target], read: prepared.reads},
      log: input.context.log,
      signal: input.context.signal,
      setenv: {HOME: '/tmp', ...emulationEnvironment(input.resolved.arch)},
      hostBinfmt: isForeign(input.resolved.arch),
      // Read line by line: the output is longer than the stderr tail a run keeps.
      onLine: (line) => lines.push(line),
    })
    .catch((error: unknown) => {
      throw locatePackageError(error, input.resolved)
    })
  const packages = parseSimulation(lines)
  const {lock} = input
  if (lock) {
    const differences = lockDifferences(packages, lock.lockfile, lock.strict)
    if (differences.length > 0) throw new AptOstreeError(`${lock.strict ? '--lockfile-strict' : '--lockfile'} ${lock.files.join(', ')}: ${differences.join('; ')}`)
  }
  return packages
}

/** The package set apt resolves, each package with the .deb the indices describe for it. */
async function resolveDescribed(input: BootstrapInput, prepared: Prepared): Promise<ResolvedPackage[]> {
  input.context.progress('resolving the package set')
  return describePackages(prepared.indices, input.store, await simulate(input, prepared))
}

/** `--dry-run`: the package set apt would install; only caches are written. */
export async function resolvePackageSet(input: BootstrapInput): Promise<SimulatedPackage[]> {
  return simulate(input, await prepare(input, path.join(input.context.scratch, 'rootfs')))
}

/** The package set a bootstrap would install, with each package's .deb (for a lockfile when no bootstrap ran); only caches are written. */
export async function describePackageSet(input: BootstrapInput): Promise<ResolvedPackage[]> {
  return resolveDescribed(input, await prepare(input, path.join(input.context.scratch, 'rootfs')))
}

/**
 * mmdebstrap with the treefile's packages into TARGET (a host path under the
 * cache dir, which must not exist): the package set resolved against a local
 * archive of the repos' indices, its .debs fetched and checked, then the
 * bootstrap itself run from that archive in the sandbox, with no network.
 * The tree keeps the treefile's own sources. Returns the packages installed.
 */
export async function bootstrap(input: BootstrapInput, target: string): Promise<ResolvedPackage[]> {
  const {resolved, context} = input
  const prepared = await prepare(input, target)
  const packages = await resolveDescribed(input, prepared)
  await storeDebs(packages, resolved, input.store, context)
  await writeLocalArchive(prepared.archive, input.releases, prepared.indices, packages, input.store)
  const kept = path.join(bootstrapFiles(context.scratch), 'kept.sources')
  await writeFile(kept, renderSources(resolved))
  const nativePrograms = await nativeDebReaders(input)
  try {
    await emptyTarget(input, target)
    await input.sandbox.run(
      mmdebstrapCommand({
        ...prepared.selection,
        preferences: prepared.preferences.map(({file, keep}) => ({file: input.sandbox.inside(file), keep})),
        keptSources: input.sandbox.inside(kept),
        keptSourcesName: '0000apt-ostree.sources',
        nativePrograms,
      }),
      {
        label: 'mmdebstrap',
        grant: {write: [target], read: [...prepared.reads, ...(nativePrograms ? [nativePrograms.directory] : [])]},
        log: context.log,
        signal: context.signal,
        onLine: (line) => context.progress(line),
        hostBinfmt: isForeign(resolved.arch),
        // INITRD=No keeps the kernel's postinst (via dracut's hook) from
        // building an initramfs that the ostreeify stage would throw away.
        setenv: {
          INITRD: 'No',
          SOURCE_DATE_EPOCH: String(input.sourceDateEpoch),
          HOME: '/tmp',
          ...(nativePrograms && {PATH: `${nativePrograms.to}:${SANDBOX_PATH}`}),
          ...emulationEnvironment(resolved.arch),
        },
      },
    )
  } catch (error) {
    throw locatePackageError(error, resolved)
  } finally {
    // The host's files, which the sandbox's root may not remove.
    if (nativePrograms) await rm(nativePrograms.directory, {recursive: true, force: true})
  }
  return packages
}

/**
 * For a tree of another architecture, dpkg reads the .debs with the host's
 * dpkg-deb and tar (sandbox/native-programs.ts), first on the PATH of the
 * tree's programs. Emulated, dpkg-deb's decompression alone took 35 s for
 * the minimal arm64 tree's 167 packages, against 6.6 s natively, and
 * the essential ones are unpacked twice (mmdebstrap extracts them, then
 * installs them with dpkg).
 */
async function nativeDebReaders(input: BootstrapInput): Promise<{directory: string; from: string; to: string} | undefined> {
  if (!isForeign(input.resolved.arch)) return undefined
  const directory = await mkdtemp(path.join(input.context.scratch, 'native-programs-'))
  await prepareNativePrograms(directory, DEB_READERS, {log: input.context.log, signal: input.context.signal})
  return {directory, from: input.sandbox.inside(directory), to: NATIVE_DIR}
}

/** apt's messages about a package, pointed at the treefile line that names it. */
const PACKAGE_PROBLEMS = [
  /Unable to locate package (\S+)/,
  /Package '?([^' ]+)'? has no installation candidate/,
  /Couldn't find any package by (?:glob|regex) '([^']+)'/,
  /Version '[^']+' for '([^']+)' was not found/,
  /Release '[^']+' for '([^']+)' was not found/,
]

function locatePackageError(error: unknown, resolved: ResolvedTreefile): unknown {
  if (!(error instanceof ToolError)) return error
  for (const line of error.stderr) {
    for (const pattern of PACKAGE_PROBLEMS) {
      const name = pattern.exec(line)?.[1]
      const entry = resolved.packages.find((pkg) => pkg.name === name || pkg.spec === name)
      if (entry) {
        return new AptOstreeError(`${formatLocation(entry.origin)}: package "${entry.spec}": ${line.replace(/^E: /, '')}`, ExitCode.failed, error.details)
      }
    }
  }
  return error
}
