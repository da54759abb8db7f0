import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {copyFile, link, mkdir, rename, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'
import {AptOstreeError} from '../errors.js'
import {pathExists} from '../fs.js'
import type {ResolvedTreefile} from '../treefile/index.js'
import type {JobContext, Workspace} from '../workspace.js'
import {downloadVerified} from './fetch.js'
import {nameProblem} from './names.js'
import {findPackages, packageKey, type PackageFile} from './packages.js'
import type {ReleaseFile} from './release.js'
import {archiveBase, archiveDirectory, type ReleaseState} from './releases.js'

/** A Packages index of one release: its path below dists/SUITE and what the InRelease says of it. */
export interface IndexFile {
  release: ReleaseState
  path: string
  file: ReleaseFile
}

/** The forms of an index apt takes, smallest download first. */
const INDEX_FORMS = ['.xz', '.gz', '']

/**
 * The Packages indices apt reads for ARCH: each component's binary-ARCH,
 * and binary-all where the archive has one apart (Debian folds it into
 * binary-ARCH and says so with No-Support-for-Architecture-all).
 */
export function indexFilesOf(release: ReleaseState, components: string[], arch: string): IndexFile[] {
  const arches = release.info.allInArchIndices || !release.info.architectures.includes('all') ? [arch] : [arch, 'all']
  const indices: IndexFile[] = []
  for (const component of components) {
    // The schema admits no other component; this keeps one from ever becoming a path that leaves dists/SUITE.
    const problem = nameProblem('component', component)
    if (problem) throw new AptOstreeError(`repo "${release.repo}": ${problem}`)
    for (const each of arches) {
      const base = `${component}/binary-${each}/Packages`
      const form = INDEX_FORMS.find((suffix) => release.info.files.has(base + suffix))
      if (form === undefined) {
        if (each === 'all') continue
        throw new AptOstreeError(`repo "${release.repo}": ${release.url} lists no ${base} (does ${release.suite} have component ${component} for ${arch}?)`)
      }
      indices.push({release, path: base + form, file: release.info.files.get(base + form)!})
    }
  }
  return indices
}

/**
 * The content-addressed store of what the archives served (indices, .debs),
 * CACHEDIR/archive/sha256/DIGEST: shared by every compose, verified before
 * each reuse, so a damaged file is fetched again instead of reaching a tree.
 */
/** How a compose used the store for one kind of file: found intact, fetched, found damaged (and fetched again). */
export interface StoreUse {
  reused: number
  fetched: number
  damaged: number
  /** Bytes fetched, damaged files' included. */
  fetchedBytes: number
}

export class ArchiveStore {
  /** What this store was asked for, by kind: the build report's cache hits. */
  readonly use: {indices: StoreUse; debs: StoreUse} = {indices: unusedStore(), debs: unusedStore()}

  constructor(readonly directory: string) {}

  /** The store of WORKSPACE's cache dir (CACHEDIR/archive). */
  static async of(workspace: Workspace): Promise<ArchiveStore> {
    return new ArchiveStore(await workspace.sandboxDirectory('archive'))
  }

  /** Where the store keeps the file of digest SHA256: refused for anything but a digest, whoever forgot to check it. */
  pathOf(sha256: string): string {
    const problem = nameProblem('sha256', sha256)
    if (problem) throw new AptOstreeError(`the archive store keeps files by digest: ${problem}`)
    return path.join(this.directory, 'sha256', sha256)
  }

  /** Keep TEXT (an InRelease) under its digest, so that a capture can find that state after the archive moved on. */
  async keep(text: string, digest: string): Promise<void> {
    const stored = this.pathOf(digest)
    if (await pathExists(stored)) return
    await mkdir(path.dirname(stored), {recursive: true})
    await writeFile(`${stored}.partial-${process.pid}`, text)
    await rename(`${stored}.partial-${process.pid}`, stored)
  }

  /** Have FILE in the store: checked when there, else fetched from URLS. */
  async ensure(file: ReleaseFile, urls: string[], name: string, context: JobContext, use: StoreUse): Promise<string> {
    const stored = this.pathOf(file.sha256)
    if (await pathExists(stored)) {
      if ((await digestOf(stored)) === file.sha256) {
        use.reused++
        return stored
      }
      context.warn(`cached ${name} did not match its sha256 (damaged cache): fetching it again`)
      use.damaged++
      await rm(stored, {force: true})
    }
    context.progress(`fetching ${name}`)
    await downloadVerified(urls, file, stored, context.signal)
    use.fetched++
    use.fetchedBytes += file.size
    return stored
  }
}

/** A StoreUse of nothing yet. */
export function unusedStore(): StoreUse {
  return {reused: 0, fetched: 0, damaged: 0, fetchedBytes: 0}
}

async function digestOf(file: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(file), hash)
  return hash.digest('hex')
}

/** Where an index is on the archive (or the capture), plain or by hash. */
function indexUrls(index: IndexFile): string[] {
  const directory = `${index.release.source}/dists/${index.release.suite}/${path.posix.dirname(index.path)}`
  const plain = `${index.release.source}/dists/${index.release.suite}/${index.path}`
  return index.release.info.byHash ? [`${directory}/by-hash/SHA256/${index.file.sha256}`, plain] : [plain]
}

/** Every index file of the treefile's repos, in the store. */
export async function storeIndices(resolved: ResolvedTreefile, releases: ReleaseState[], store: ArchiveStore, context: JobContext): Promise<IndexFile[]> {
  const indices = releases.flatMap((release) => indexFilesOf(release, resolved.treefile.repos[release.repoIndex].components, resolved.arch))
  for (const index of indices) await store.ensure(index.file, indexUrls(index), `${index.release.suite}/${index.path}`, context, store.use.indices)
  return indices
}

/** What `name version arch` the resolver chose is, in the indices: the first repo that has it wins, as apt's order has it. */
export async function describePackages(indices: IndexFile[], store: ArchiveStore, wanted: Array<{name: string; version: string; architecture: string}>): Promise<Array<PackageFile & {release: ReleaseState}>> {
  const keys = new Set(wanted.map((pkg) => packageKey(pkg.name, pkg.version, pkg.architecture)))
  const found = new Map<string, PackageFile & {release: ReleaseState}>()
  for (const index of indices) {
    for (const pkg of await findPackages(store.pathOf(index.file.sha256), keys, `repo "${index.release.repo}": index ${index.release.suite}/${index.path}`)) {
      const key = packageKey(pkg.name, pkg.version, pkg.architecture)
      if (!found.has(key)) found.set(key, {...pkg, release: index.release})
    }
  }
  const missing = [...keys].filter((key) => !found.has(key))
  if (missing.length > 0) throw new AptOstreeError(`the repos' indices do not describe ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}, which apt chose`)
  return wanted.map((pkg) => found.get(packageKey(pkg.name, pkg.version, pkg.architecture))!)
}

/** Every .deb of PACKAGES in the store, fetched where missing or damaged: from any of its repo's URIs, or from the capture it was read from. */
export async function storeDebs(packages: Array<PackageFile & {release: ReleaseState}>, resolved: ResolvedTreefile, store: ArchiveStore, context: JobContext): Promise<void> {
  for (const pkg of packages) {
    const {release} = pkg
    const captured = release.source !== release.uri
    const urls = captured ? [`${release.source}/${pkg.filename}`] : resolved.treefile.repos[release.repoIndex].uris.map((uri) => `${archiveBase(uri)}/${pkg.filename}`)
    await store.ensure({sha256: pkg.sha256, size: pkg.size}, urls, path.posix.basename(pkg.filename), context, store.use.debs)
  }
}

/** FROM at TO: a hard link, or a copy where TO is on another file system (a capture's directory). */
async function place(from: string, to: string): Promise<void> {
  await mkdir(path.dirname(to), {recursive: true})
  await rm(to, {force: true})
  await link(from, to).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EXDEV') throw error
    await copyFile(from, to)
  })
}

/**
 * A local apt archive of exactly these files, laid out as the originals:
 * dists/SUITE/InRelease as served (signatures intact), the indices at their
 * paths and by hash, the .debs at their pool paths. apt checks it as it
 * checks the original, and it needs no network.
 */
export async function writeLocalArchive(directory: string, releases: ReleaseState[], indices: IndexFile[], packages: Array<PackageFile & {release: ReleaseState}>, store: ArchiveStore): Promise<void> {
  for (const release of releases) {
    const dists = path.join(directory, archiveDirectory(release.repo, release.uriIndex), 'dists', release.suite)
    await mkdir(dists, {recursive: true})
    await writeFile(path.join(dists, 'InRelease'), release.text)
  }
  for (const index of indices) {
    const dists = path.join(directory, archiveDirectory(index.release.repo, index.release.uriIndex), 'dists', index.release.suite)
    await place(store.pathOf(index.file.sha256), path.join(dists, index.path))
    await place(store.pathOf(index.file.sha256), path.join(dists, path.posix.dirname(index.path), 'by-hash', 'SHA256', index.file.sha256))
  }
  for (const pkg of packages) await place(store.pathOf(pkg.sha256), path.join(directory, archiveDirectory(pkg.release.repo, pkg.release.uriIndex), pkg.filename))
}
