import {readdir} from 'node:fs/promises'
import path from 'node:path'
import {ArchiveStore, describePackages, storeDebs, storeIndices, writeLocalArchive} from '../archive/capture.js'
import {fetchReleases} from '../archive/releases.js'
import type {PackageLock} from '../bootstrap/index.js'
import {UsageError} from '../errors.js'
import {assertWritable} from '../fs.js'
import {Lock} from '../lock.js'
import type {ResolvedTreefile} from '../treefile/index.js'
import {Workspace} from '../workspace.js'
import {copiedKeyrings, snapshotInputs} from './inputs.js'

export interface CaptureOptions {
  resolved: ResolvedTreefile
  lock: PackageLock
  /** The directory the capture goes to: absent or empty. */
  output: string
  cacheDir: string
}

export interface CaptureResult {
  directory: string
  suites: number
  packages: number
  /** Bytes of the .debs and indices written. */
  bytes: number
}

/**
 * `compose fetch`: exactly what the lockfile names, as an apt archive a
 * compose can read with no network (--archive-dir). Each suite's InRelease
 * as published (its signature intact, checked as a compose checks it),
 * whole Packages indices (so that apt resolves from them what it resolved
 * then, and their by-hash names hold), and the locked .debs at their pool
 * paths. The InRelease is the locked one: from the archive while it is
 * still current, else from the cache that composed the lockfile.
 */
export async function captureArchive(options: CaptureOptions, warn: (message: string) => void, progress: (line: string) => void): Promise<CaptureResult> {
  const output = path.resolve(options.output)
  const existing = await readdir(output).catch(() => undefined)
  if (existing && existing.length > 0) throw new UsageError(`-o ${options.output}: not empty; give a new or empty directory`)
  if (!existing) await assertWritable(output, `-o ${options.output}`)
  const {resolved, lock} = options
  const workspace = await Workspace.open(path.resolve(options.cacheDir), 'fetch')
  try {
    const cacheLock = await Lock.acquire(path.join(workspace.cacheDir, 'apt-ostree.lock'), `cache dir ${options.cacheDir}`)
    workspace.onDispose(() => cacheLock.release())
    const context = {...workspace.job(progress, warn), scratch: workspace.workDir}
    const files = await snapshotInputs(resolved, path.join(workspace.workDir, 'inputs'), workspace.sandboxOwner)
    const store = await ArchiveStore.of(workspace)
    const digests = new Map(lock.lockfile.metadata.archives.map((archive) => [`${archive.uri}/dists/${archive.suite}/InRelease`, archive.inrelease.replace(/^sha256:/, '')]))
    const releases = await fetchReleases(resolved, copiedKeyrings(resolved, files), context, {locked: {digests, store: (digest) => store.pathOf(digest)}})
    const unlocked = releases.filter((release) => !digests.has(release.url))
    if (unlocked.length > 0) throw new UsageError(`--lockfile ${lock.files.join(', ')}: names no state of ${unlocked.map((release) => release.url).join(', ')}, which the treefile reads`)
    const indices = await storeIndices(resolved, releases, store, context)
    const locked = Object.entries(lock.lockfile.packages).map(([key, pkg]) => ({name: key.split(':')[0], version: pkg.version, architecture: pkg.architecture}))
    const packages = await describePackages(indices, store, locked)
    await storeDebs(packages, resolved, store, context)
    progress(`writing ${packages.length} packages and ${indices.length} indices to ${options.output}`)
    await writeLocalArchive(output, releases, indices, packages, store)
    const sizes = [...indices.map((index) => index.file.size), ...packages.map((pkg) => pkg.size)]
    return {directory: output, suites: releases.length, packages: packages.length, bytes: sizes.reduce((sum, size) => sum + size, 0)}
  } catch (error) {
    throw workspace.interrupted(error)
  } finally {
    await workspace.dispose()
  }
}
