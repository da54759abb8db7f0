import {secondsSince} from '../clock.js'
import path from 'node:path'
import {ArchiveStore, unusedStore, type StoreUse} from '../archive/capture.js'
import {RootfsCache} from '../bootstrap/cache.js'
import {bootstrap, describePackageSet, type PackageLock, type ResolvedPackage} from '../bootstrap/index.js'
import {writeOutput} from '../fs.js'
import {canonicalJson} from '../hash.js'
import {OstreeRepo} from '../tools/ostree.js'
import type {ResolvedTreefile} from '../treefile/index.js'
import {UsageError} from '../errors.js'
import {Lock} from '../lock.js'
import {allSettledOrFirstFailure} from '../settle.js'
import {Workspace} from '../workspace.js'
import {makePrivateDirectory} from '../cache-dir.js'
import {diffPackageIds} from './diff.js'
import {gatherPlanInputs} from './gather.js'
import {lockfileOf, renderLockfile} from '../archive/lockfile.js'
import {copiedKeyrings, type InputFiles, treefileWithCopies} from './inputs.js'
import {plan, type InputParts, type Plan} from './plan.js'
import type {Reporter} from './reporter.js'
import {checkForeignExecution} from '../sandbox/binfmt.js'
import {runWorker} from '../sandbox/worker.js'
import type {TreeStagesJob, TreeStagesResult} from '../postprocess/stages.js'
import {serializeTreefile} from '../treefile/serialize.js'
import {verifyStaging} from './staging.js'
import {checkOutputs, discardNewRepo, openRepos, type Repos} from './outputs.js'
import {StageRelay} from './stage-relay.js'
import {checkSigning, publishCommit, type CheckedSigning, type PublishOptions} from './publish.js'

export interface ComposeTreeOptions {
  resolved: ResolvedTreefile
  /** The repo to commit to; created in archive mode when absent. Default: the cache's bare-user staging repo. */
  repo?: string
  cacheDir: string
  forceNocache: boolean
  sourceDateEpoch?: number
  extraMetadata: Record<string, string>
  writeCommitidTo?: string
  writeComposejsonTo?: string
  /** Write the lockfile of the package set the compose resolved (archive/lockfile.ts) to this file. */
  writeLockfileTo?: string
  /** The build report's file, checked before any work (compose/report.ts writes it). */
  writeReportTo?: string
  /** Hold the packages at the lockfile's versions. */
  lock?: PackageLock
  /** Read every repo from this captured archive (compose fetch), not the network. */
  archiveDir?: string
  /** Signing and static deltas, after the commit lands in --repo. */
  publish: PublishOptions
}

export interface PackageDiff {
  added: string[]
  removed: string[]
  changed: string[]
}

/** What the compose took from its cache dir and what it made or fetched: the build report's cache hits. */
export interface CacheUse {
  /** The bootstrapped tree: reused from the cache, built, or not needed (nothing to compose). */
  rootfs: 'reused' | 'built' | 'not needed'
  /** The staging repo: kept (it passed ostree fsck), rebuilt (it failed), new, or not checked (nothing to compose). */
  staging: 'kept' | 'rebuilt' | 'new' | 'not checked'
  /** The repos' Packages indices and the .debs, in the cache's archive store. */
  indices: StoreUse
  debs: StoreUse
}

export interface ComposeResult {
  ref: string
  repo: string
  commit: string
  parent?: string
  version?: string
  timestamp: number
  inputhash: string
  /** What the input hash covers, part by part. */
  inputs: InputParts
  packages: string[]
  diff: PackageDiff
  /** Seconds per stage. */
  timings: Record<string, number>
  cache: CacheUse
  unchanged: boolean
}

export function diffPackages(before: string[], after: string[]): PackageDiff {
  const {added, removed, changed} = diffPackageIds(before, after)
  return {added: added.map((pkg) => pkg.name), removed: removed.map((pkg) => pkg.name), changed: changed.map((pkg) => pkg.name)}
}

/** The options once `checkSigning` passed: what publishing signs with. */
type CheckedOptions = ComposeTreeOptions & {publish: PublishOptions<CheckedSigning>}

/**
 * bootstrap → customize → ostreeify → commit → publish, for a plan that has
 * something to do. Each stage is timed.
 */
async function runStages(options: CheckedOptions, planned: Plan, files: InputFiles, repos: Repos, workspace: Workspace, reporter: Reporter): Promise<{result: ComposeResult; resolvedSet?: ResolvedPackage[]}> {
  const {sandbox} = workspace
  const root = path.join(workspace.workDir, 'rootfs')
  const timings: Record<string, number> = {}
  const context = (progress: (line: string) => void) => ({...workspace.job(progress, (message) => reporter.warn(message)), scratch: workspace.workDir})
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const start = performance.now()
    try {
      return await work()
    } finally {
      timings[name] = secondsSince(start)
    }
  }

  const digester = async (tree: string): Promise<string> => (await runWorker<{digest: string}>({kind: 'digest', root: sandbox.inside(tree)}, sandbox, {log: workspace.log, signal: workspace.signal, grant: {read: [tree]}})).digest
  const cache = new RootfsCache(await workspace.sandboxDirectory('rootfs'), await makePrivateDirectory(path.join(workspace.cacheDir, 'records')), sandbox, digester)
  // The package set apt resolved, when this compose bootstrapped (not when it reused a cached tree).
  let resolvedSet: ResolvedPackage[] | undefined
  const store = await ArchiveStore.of(workspace)
  let rootfs: CacheUse['rootfs'] = 'built'
  let stagingKept = true
  await timed('bootstrap', () =>
    reporter.stage('bootstrap', async ({progress, title}) => {
      const job = context(progress)
      // Two checks of caches at once, one mostly hashing, the other mostly copying.
      progress('checking the staging repo (ostree fsck) and the cached bootstrapped tree')
      const [kept, restored] = await allSettledOrFirstFailure([
        verifyStaging(repos.staging, workspace, job.warn),
        options.forceNocache ? Promise.resolve(false) : cache.restore(planned.bootstrapHash, root, job),
      ])
      stagingKept = kept
      if (restored) {
        rootfs = 'reused'
        title('bootstrap: reusing the cached tree')
        return
      }
      const keyrings = copiedKeyrings(options.resolved, files)
      resolvedSet = await bootstrap({resolved: options.resolved, releases: planned.releases, keyrings, store, sandbox, sandboxOwner: workspace.sandboxOwner, sourceDateEpoch: planned.sourceDateEpoch, context: job, lock: options.lock}, root)
      progress('caching the bootstrapped tree')
      await cache.store(planned.bootstrapHash, root, job)
    }),
  )
  const job: TreeStagesJob = {
    kind: 'tree-stages',
    resolved: serializeTreefile(treefileWithCopies(options.resolved, files, (file) => sandbox.inside(file))),
    root: sandbox.inside(root),
    scratch: sandbox.inside(workspace.workDir),
    stagingRepo: sandbox.inside(repos.staging.host.path),
    sourceDateEpoch: planned.sourceDateEpoch,
    timestamp: planned.timestamp,
    version: planned.version,
    parent: planned.parent?.commit,
    inputHash: planned.inputHash,
    inputs: canonicalJson(planned.inputs),
    extraMetadata: options.extraMetadata,
  }
  const relay = new StageRelay(reporter)
  let committed: TreeStagesResult
  try {
    committed = await runWorker<TreeStagesResult>(job, sandbox, {log: workspace.log, signal: workspace.signal, onEvent: relay.onEvent, grant: {write: [workspace.workDir, repos.staging.host.path]}})
    relay.finish()
  } catch (error) {
    relay.finish(error)
    throw error
  } finally {
    await relay.settled()
  }
  Object.assign(timings, relay.timings)
  await timed('publish', () =>
    reporter.stage('publish', async ({progress, title}) => {
      const job = context(progress)
      const separate = repos.target !== repos.staging.host
      if (separate) {
        progress(`ostree pull-local into ${repos.target.path}`)
        await repos.target.pullLocal(repos.staging.host.path, committed.commit, job)
      }
      // The staging repo keeps this commit's objects for the next build of the ref, and drops older ones.
      await repos.staging.inside.setRef(planned.ref, committed.commit, job)
      await repos.staging.inside.prune(job)
      if (separate) await publishCommit(repos.target, {ref: planned.ref, commit: committed.commit, parent: planned.parent?.commit}, options.publish, {...job, progress})
      title(`commit ${committed.commit.slice(0, 12)} to ${planned.ref}`)
    }),
  )
  const result: ComposeResult = {
    ref: planned.ref,
    repo: repos.target.path,
    commit: committed.commit,
    parent: planned.parent?.commit,
    version: planned.version,
    timestamp: planned.timestamp,
    inputhash: planned.inputHash,
    inputs: planned.inputs,
    packages: committed.packages,
    diff: diffPackages(planned.parent?.packages ?? [], committed.packages),
    timings,
    cache: {rootfs, staging: repos.staging.created ? 'new' : stagingKept ? 'kept' : 'rebuilt', ...store.use},
    unchanged: false,
  }
  return {result, resolvedSet}
}

/**
 * --write-lockfile-to: the package set apt resolved (RESOLVED_SET, or
 * resolved again the same way when the compose reused a cached tree or had
 * nothing to do: the same indices give the same set), with each .deb's digest.
 */
async function writeLockfile(file: string, options: CheckedOptions, planned: Plan, files: InputFiles, resolvedSet: ResolvedPackage[] | undefined, workspace: Workspace, reporter: Reporter): Promise<void> {
  const packages =
    resolvedSet ??
    (await describePackageSet({
      resolved: options.resolved,
      releases: planned.releases,
      keyrings: copiedKeyrings(options.resolved, files),
      store: await ArchiveStore.of(workspace),
      sandbox: workspace.sandbox,
      sandboxOwner: workspace.sandboxOwner,
      sourceDateEpoch: planned.sourceDateEpoch,
      context: {...workspace.job(() => undefined, (message) => reporter.warn(message)), scratch: workspace.workDir},
      lock: options.lock,
    }))
  await writeOutput(file, renderLockfile(lockfileOf(packages, planned.releases)))
}

/** What an unchanged compose reports: the parent, as it is. */
function unchangedResult(planned: Plan, repo: OstreeRepo, timings: Record<string, number>): ComposeResult {
  const parent = planned.parent!
  return {
    ref: planned.ref,
    repo: repo.path,
    commit: parent.commit,
    parent: parent.commit,
    version: parent.version,
    timestamp: parent.timestamp,
    inputhash: planned.inputHash,
    inputs: planned.inputs,
    packages: parent.packages,
    diff: {added: [], removed: [], changed: []},
    timings,
    cache: {rootfs: 'not needed', staging: 'not checked', indices: unusedStore(), debs: unusedStore()},
    unchanged: true,
  }
}

/**
 * Compose a treefile into a commit: gather what the plan needs, plan, and
 * run the stages the plan says are needed. The ref moves only when every
 * stage succeeded.
 */
export async function composeTree(unchecked: ComposeTreeOptions, reporter: Reporter): Promise<ComposeResult> {
  await checkOutputs(unchecked)
  await checkForeignExecution(unchecked.resolved.arch)
  const options: CheckedOptions = {...unchecked, publish: {...unchecked.publish, signing: await checkSigning(unchecked.publish.signing, unchecked.repo)}}
  const workspace = await Workspace.open(path.resolve(options.cacheDir), 'compose')
  // --repo, once opened: a failed compose leaves it as it was.
  let opened: Repos | undefined
  try {
    const cacheLock = await Lock.acquire(path.join(workspace.cacheDir, 'apt-ostree.lock'), `cache dir ${options.cacheDir}`)
    workspace.onDispose(() => cacheLock.release())
    const repos = await openRepos(options, workspace)
    opened = repos
    const start = performance.now()
    const {planned, files} = await reporter.stage('plan', async ({progress, title}) => {
      const gathered = await gatherPlanInputs(options.resolved, workspace, workspace.job(progress, (message) => reporter.warn(message)), {repo: repos.target, sourceDateEpoch: options.sourceDateEpoch, extraMetadata: options.extraMetadata, forceNocache: options.forceNocache, lock: options.lock, archiveDir: options.archiveDir})
      const result = plan(gathered.inputs)
      title(result.unchanged ? 'plan: no apparent changes since previous commit' : `plan: input ${result.inputHash.slice(0, 12)}`)
      return {planned: result, files: gathered.files}
    })
    const planSeconds = secondsSince(start)
    const staged = planned.unchanged ? undefined : await runStages(options, planned, files, repos, workspace, reporter)
    const result = staged ? {...staged.result, timings: {plan: planSeconds, ...staged.result.timings}} : unchangedResult(planned, repos.target, {plan: planSeconds})
    if (options.writeCommitidTo) await writeOutput(options.writeCommitidTo, result.commit)
    if (options.writeComposejsonTo) await writeOutput(options.writeComposejsonTo, JSON.stringify(result, null, 2) + '\n')
    if (options.writeLockfileTo) await writeLockfile(options.writeLockfileTo, options, planned, files, staged?.resolvedSet, workspace, reporter)
    return result
  } catch (error) {
    // The repo lock inside a repo being removed goes with it; its release finds nothing to remove.
    if (opened) await discardNewRepo(opened)
    throw workspace.interrupted(error)
  } finally {
    await workspace.dispose()
  }
}

/**
 * One compose per architecture (compose image --arch A --arch B), every
 * one's options and host checked before the first starts: each has its own
 * ref (through ${basearch}), so they never take each other's parent.
 */
export async function composeTrees(options: ComposeTreeOptions[], reporter: Reporter): Promise<ComposeResult[]> {
  const refs = options.map((each) => each.resolved.treefile.ref)
  const shared = refs.find((ref, index) => refs.indexOf(ref) !== index)
  if (shared) throw new UsageError(`two composes would commit to the ref ${shared}: give each --arch once, and put \${basearch} in the treefile's ref`)
  for (const each of options) {
    await checkOutputs(each)
    await checkForeignExecution(each.resolved.arch)
  }
  const results: ComposeResult[] = []
  for (const each of options) results.push(await composeTree(each, reporter))
  return results
}

