import {mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {RootfsCache} from '../bootstrap/cache.js'
import {bootstrap} from '../bootstrap/index.js'
import {packageId} from '../dpkg/status.js'
import {requireRoot} from '../errors.js'
import {commitTree} from '../ostree/commit.js'
import {CUSTOMIZE_STEPS, OSTREEIFY_STEPS, runSteps, type StageContext} from '../postprocess/index.js'
import {OstreeRepo} from '../tools/ostree.js'
import type {ResolvedTreefile} from '../treefile/index.js'
import {Lock, Workspace} from '../workspace.js'
import {gatherPlanInputs} from './gather.js'
import {plan, type Plan} from './plan.js'
import type {Reporter} from './reporter.js'

export interface ComposeTreeOptions {
  resolved: ResolvedTreefile
  /** The repo to commit to; created in archive mode when absent. Default: a bare-user repo in the cache. */
  repo?: string
  cacheDir: string
  forceNocache: boolean
  sourceDateEpoch?: number
  extraMetadata: Record<string, string>
  writeCommitidTo?: string
  writeComposejsonTo?: string
}

export interface PackageDiff {
  added: string[]
  removed: string[]
  changed: string[]
}

export interface ComposeResult {
  ref: string
  repo: string
  commit: string
  parent?: string
  version?: string
  timestamp: number
  inputhash: string
  packages: string[]
  diff: PackageDiff
  /** Seconds per stage. */
  timings: Record<string, number>
  unchanged: boolean
}

export function diffPackages(before: string[], after: string[]): PackageDiff {
  const byName = (ids: string[]): Map<string, string> => new Map(ids.map((id) => [id.split('=')[0], id]))
  const [old, now] = [byName(before), byName(after)]
  return {
    added: [...now.keys()].filter((name) => !old.has(name)),
    removed: [...old.keys()].filter((name) => !now.has(name)),
    changed: [...now.keys()].filter((name) => old.has(name) && old.get(name) !== now.get(name)),
  }
}

/** The repo a compose writes to and, for an archive repo, the bare-user repo it commits through. */
interface Repos {
  target: OstreeRepo
  /**
   * An archive repo compresses every object it writes, even ones it has:
   * the commit goes to a bare-user staging repo in the cache (which skips
   * what it has) and is pulled from there, which compresses only new
   * objects, in parallel.
   */
  staging: OstreeRepo
}

async function openRepos(options: ComposeTreeOptions, workspace: Workspace): Promise<Repos> {
  const run = {log: workspace.log}
  const target = new OstreeRepo(path.resolve(options.repo ?? path.join(options.cacheDir, 'repo')))
  if (!(await target.exists())) {
    await mkdir(target.path, {recursive: true})
    await target.init(options.repo ? 'archive' : 'bare-user', run)
  }
  const repoLock = await Lock.acquire(path.join(target.path, 'apt-ostree.lock'), `repo ${target.path}`)
  workspace.onDispose(() => repoLock.release())
  if (!(await target.mode()).startsWith('archive')) return {target, staging: target}
  const staging = new OstreeRepo(path.join(workspace.cacheDir, 'staging-repo'))
  if (!(await staging.exists())) {
    await mkdir(staging.path, {recursive: true})
    await staging.init('bare-user', run)
  }
  return {target, staging}
}

/**
 * bootstrap → customize → ostreeify → commit → publish, for a plan that has
 * something to do. Stages report through REPORTER; each is timed.
 */
async function runStages(options: ComposeTreeOptions, planned: Plan, repos: Repos, workspace: Workspace, reporter: Reporter): Promise<ComposeResult> {
  const {resolved} = options
  const root = path.join(workspace.workDir, 'rootfs')
  const timings: Record<string, number> = {}
  const stage = <T>(name: string, work: (context: StageContext, title: (text: string) => void) => Promise<T>): Promise<T> =>
    reporter.stage(name, async ({progress, title}) => {
      const start = performance.now()
      try {
        const context = {...workspace.job(progress, (message) => reporter.warn(message)), root, resolved, sourceDateEpoch: planned.sourceDateEpoch, version: planned.version, scratch: workspace.workDir}
        return await work(context, title)
      } finally {
        timings[name] = Math.round((performance.now() - start) / 100) / 10
      }
    })

  const rootfsCache = new RootfsCache(path.join(workspace.cacheDir, 'rootfs'))
  await stage('bootstrap', async (context, title) => {
    if (!options.forceNocache && (await rootfsCache.has(planned.bootstrapHash))) {
      title('bootstrap: reusing the cached tree')
      await rootfsCache.restore(planned.bootstrapHash, root, context)
      return
    }
    await bootstrap({resolved, target: root, debCache: path.join(workspace.cacheDir, 'debs'), sourceDateEpoch: planned.sourceDateEpoch, context})
    context.progress('caching the bootstrapped tree')
    await rootfsCache.store(planned.bootstrapHash, root, context)
  })
  await stage('customize', (context) => runSteps(CUSTOMIZE_STEPS, context))
  await stage('ostreeify', (context) => runSteps(OSTREEIFY_STEPS, context))
  const committed = await stage('commit', async (context, title) => {
    context.progress(`ostree commit to ${repos.staging === repos.target ? repos.target.path : 'the staging repo'}`)
    const result = await commitTree({repo: repos.staging, root, resolved, parent: planned.parent?.commit, version: planned.version, inputHash: planned.inputHash, timestamp: planned.timestamp, extraMetadata: options.extraMetadata}, context)
    if (repos.staging !== repos.target) {
      context.progress(`ostree pull-local into ${repos.target.path}`)
      await repos.target.pullLocal(repos.staging.path, result.commit, context)
      // Keep this commit's objects for the next build of the ref, drop older ones.
      await repos.staging.setRef(planned.ref, result.commit, context)
      await repos.staging.prune(context)
    }
    await repos.target.setRef(planned.ref, result.commit, context)
    title(`commit ${result.commit.slice(0, 12)} to ${planned.ref}`)
    return result
  })
  const packages = committed.packages.map(packageId)
  return {
    ref: planned.ref,
    repo: repos.target.path,
    commit: committed.commit,
    parent: planned.parent?.commit,
    version: planned.version,
    timestamp: planned.timestamp,
    inputhash: planned.inputHash,
    packages,
    diff: diffPackages(planned.parent?.packages ?? [], packages),
    timings,
    unchanged: false,
  }
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
    packages: parent.packages,
    diff: {added: [], removed: [], changed: []},
    timings,
    unchanged: true,
  }
}

/**
 * Compose a treefile into a commit: gather what the plan needs, plan, and
 * run the stages the plan says are needed. The ref moves only when every
 * stage succeeded.
 */
export async function composeTree(options: ComposeTreeOptions, reporter: Reporter): Promise<ComposeResult> {
  requireRoot('compose tree')
  await mkdir(options.cacheDir, {recursive: true})
  const workspace = await Workspace.open(path.resolve(options.cacheDir), 'compose')
  try {
    const cacheLock = await Lock.acquire(path.join(workspace.cacheDir, 'apt-ostree.lock'), `cache dir ${options.cacheDir}`)
    workspace.onDispose(() => cacheLock.release())
    const repos = await openRepos(options, workspace)
    const start = performance.now()
    const planned = await reporter.stage('plan', async ({title}) => {
      const inputs = await gatherPlanInputs(options.resolved, {repo: repos.target, sourceDateEpoch: options.sourceDateEpoch, extraMetadata: options.extraMetadata, forceNocache: options.forceNocache, signal: workspace.signal})
      const result = plan(inputs)
      title(result.unchanged ? 'plan: no apparent changes since previous commit' : `plan: input ${result.inputHash.slice(0, 12)}`)
      return result
    })
    const planSeconds = Math.round((performance.now() - start) / 100) / 10
    const result = planned.unchanged
      ? unchangedResult(planned, repos.target, {plan: planSeconds})
      : await runStages(options, planned, repos, workspace, reporter).then((composed) => ({...composed, timings: {plan: planSeconds, ...composed.timings}}))
    if (options.writeCommitidTo) await writeFile(options.writeCommitidTo, result.commit)
    if (options.writeComposejsonTo) await writeFile(options.writeComposejsonTo, JSON.stringify(result, null, 2) + '\n')
    return result
  } catch (error) {
    throw workspace.interrupted(error)
  } finally {
    await workspace.dispose()
  }
}
