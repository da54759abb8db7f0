import {mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {Listr, ListrLogger, ProcessOutput} from 'listr2'
import {requireRoot} from '../errors.js'
import {bootstrap} from '../bootstrap/index.js'
import {RootfsCache} from '../bootstrap/cache.js'
import {packageId} from '../dpkg/status.js'
import {commitTree} from '../ostree/commit.js'
import {customize, ostreeify} from '../postprocess/index.js'
import {OstreeRepo} from '../tools/ostree.js'
import type {ResolvedTreefile} from '../treefile/index.js'
import type {StageContext} from './context.js'
import {nextVersion, plan, type Plan} from './plan.js'
import {Lock, Workspace} from './workspace.js'

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
  /** How progress is shown: listr2's renderer. */
  renderer: 'default' | 'verbose' | 'silent'
  warn: (message: string) => void
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

function diffPackages(before: string[], after: string[]): PackageDiff {
  const byName = (ids: string[]): Map<string, string> => new Map(ids.map((id) => [id.split('=')[0], id]))
  const [old, now] = [byName(before), byName(after)]
  return {
    added: [...now.keys()].filter((name) => !old.has(name)),
    removed: [...old.keys()].filter((name) => !now.has(name)),
    changed: [...now.keys()].filter((name) => old.has(name) && old.get(name) !== now.get(name)),
  }
}

interface Ctx {
  plan?: Plan
  version?: string
  result?: ComposeResult
}

async function openStagingRepo(workspace: Workspace): Promise<OstreeRepo> {
  const staging = new OstreeRepo(path.join(workspace.cacheDir, 'staging-repo'))
  if (!(await staging.exists())) {
    await mkdir(staging.path, {recursive: true})
    await staging.init('bare-user', {log: workspace.log})
  }
  return staging
}

/** plan → bootstrap → customize → ostreeify → commit, with listr2 progress. */
export async function composeTree(options: ComposeTreeOptions): Promise<ComposeResult> {
  requireRoot('compose tree')
  const {resolved} = options
  const repoPath = path.resolve(options.repo ?? path.join(options.cacheDir, 'repo'))
  await mkdir(options.cacheDir, {recursive: true})
  const workspace = await Workspace.open(path.resolve(options.cacheDir), 'compose')
  const timings: Record<string, number> = {}
  try {
    const cacheLock = await Lock.acquire(path.join(workspace.cacheDir, 'apt-ostree.lock'), `cache dir ${options.cacheDir}`)
    workspace.onDispose(() => cacheLock.release())
    const repo = new OstreeRepo(repoPath)
    if (!(await repo.exists())) {
      await mkdir(repoPath, {recursive: true})
      await repo.init(options.repo ? 'archive' : 'bare-user', {log: workspace.log})
    }
    const repoLock = await Lock.acquire(path.join(repoPath, 'apt-ostree.lock'), `repo ${repoPath}`)
    workspace.onDispose(() => repoLock.release())
    // An archive repo compresses every object it writes, even ones it has:
    // commit to a bare-user staging repo in the cache (which skips what it
    // has) and pull-local, which compresses only new objects, in parallel.
    const staging = (await repo.mode()).startsWith('archive') ? await openStagingRepo(workspace) : repo

    const root = path.join(workspace.workDir, 'rootfs')
    const rootfsCache = new RootfsCache(path.join(workspace.cacheDir, 'rootfs'))
    const stageContext = (task: {output?: string}, sourceDateEpoch: number): StageContext => ({
      root,
      resolved,
      log: workspace.log,
      signal: workspace.signal,
      sourceDateEpoch,
      progress: (line) => {
        task.output = line
      },
      warn: options.warn,
    })
    const timed = <T>(stage: string, work: () => Promise<T>): Promise<T> => {
      const start = performance.now()
      return work().finally(() => {
        timings[stage] = Math.round((performance.now() - start) / 100) / 10
      })
    }

    const progressOutput = new ProcessOutput(process.stderr, process.stderr)
    const tasks = new Listr<Ctx, 'default' | 'verbose' | 'silent', 'verbose'>(
      [
        {
          title: 'plan',
          task: (ctx, task) =>
            timed('plan', async () => {
              ctx.plan = await plan(resolved, {repo, sourceDateEpoch: options.sourceDateEpoch, extraMetadata: options.extraMetadata, signal: workspace.signal})
              if (ctx.plan.unchanged && !options.forceNocache) task.title = 'plan: no apparent changes since previous commit'
              else task.title = `plan: input ${ctx.plan.inputHash.slice(0, 12)}`
            }),
        },
        {
          title: 'bootstrap',
          skip: (ctx) => Boolean(ctx.plan?.unchanged && !options.forceNocache),
          task: (ctx, task) =>
            timed('bootstrap', async () => {
              const {bootstrapHash, sourceDateEpoch} = ctx.plan!
              const run = {log: workspace.log, signal: workspace.signal}
              if (!options.forceNocache && (await rootfsCache.has(bootstrapHash))) {
                task.title = 'bootstrap: reusing the cached tree'
                await rootfsCache.restore(bootstrapHash, root, run)
                return
              }
              await bootstrap({
                resolved,
                target: root,
                workDir: workspace.workDir,
                debCache: path.join(workspace.cacheDir, 'debs'),
                sourceDateEpoch,
                log: workspace.log,
                signal: workspace.signal,
                progress: (line) => {
                  task.output = line
                },
              })
              task.output = 'caching the bootstrapped tree'
              await rootfsCache.store(bootstrapHash, root, run)
            }),
        },
        {
          title: 'customize',
          skip: (ctx) => Boolean(ctx.plan?.unchanged && !options.forceNocache),
          task: (ctx, task) =>
            timed('customize', async () => {
              const previous = ctx.plan!.parent ? (await repo.metadataStrings(ctx.plan!.parent, 'version'))[0] : undefined
              ctx.version = options.extraMetadata.version ?? nextVersion(resolved.treefile['automatic-version-prefix'], resolved.treefile['automatic-version-suffix'], previous, new Date())
              await customize(stageContext(task, ctx.plan!.sourceDateEpoch), ctx.version, workspace.workDir)
            }),
        },
        {
          title: 'ostreeify',
          skip: (ctx) => Boolean(ctx.plan?.unchanged && !options.forceNocache),
          task: (ctx, task) => timed('ostreeify', () => ostreeify(stageContext(task, ctx.plan!.sourceDateEpoch))),
        },
        {
          title: 'commit',
          skip: (ctx) => Boolean(ctx.plan?.unchanged && !options.forceNocache),
          task: (ctx, task) =>
            timed('commit', async () => {
              const {parent, inputHash, sourceDateEpoch} = ctx.plan!
              task.output = `ostree commit to ${staging === repo ? repoPath : 'the staging repo'}`
              const committed = await commitTree({
                repo: staging,
                root,
                resolved,
                parent,
                version: ctx.version,
                inputHash,
                sourceDateEpoch,
                extraMetadata: options.extraMetadata,
                log: workspace.log,
                signal: workspace.signal,
              })
              if (staging !== repo) {
                task.output = `ostree pull-local into ${repoPath}`
                await repo.pullLocal(staging.path, committed.commit, {log: workspace.log, signal: workspace.signal})
                // Keep this commit's objects for the next build of the ref, drop older ones.
                await staging.setRef(resolved.treefile.ref, committed.commit, {log: workspace.log})
                await staging.prune({log: workspace.log})
              }
              const packages = committed.packages.map(packageId)
              const previous = parent ? await repo.metadataStrings(parent, 'apt-ostree.packages') : []
              ctx.result = {
                ref: resolved.treefile.ref,
                repo: repoPath,
                commit: committed.commit,
                parent,
                version: ctx.version,
                timestamp: sourceDateEpoch,
                inputhash: inputHash,
                packages,
                diff: diffPackages(previous, packages),
                timings,
                unchanged: false,
              }
              await repo.setRef(resolved.treefile.ref, committed.commit, {log: workspace.log})
              task.title = `commit ${committed.commit.slice(0, 12)} to ${resolved.treefile.ref}`
            }),
        },
      ],
      {
        renderer: options.renderer,
        fallbackRenderer: options.renderer === 'silent' ? 'silent' : 'verbose',
        // Progress is for people: stderr, so stdout keeps only the result (and --json's document).
        processOutput: progressOutput,
        rendererOptions: {collapseSubtasks: false, outputBar: 1, logger: new ListrLogger({processOutput: progressOutput, useIcons: options.renderer === 'default'})},
        fallbackRendererOptions: {logTitleChange: true, logger: new ListrLogger({processOutput: progressOutput, useIcons: false})},
        exitOnError: true,
        registerSignalListeners: false,
        collectErrors: false,
      } as never,
    )
    const ctx = await tasks.run({}).catch((error: unknown) => {
      throw workspace.interrupted(error)
    })
    const result: ComposeResult = ctx.result ?? {
      ref: resolved.treefile.ref,
      repo: repoPath,
      commit: ctx.plan!.parent!,
      parent: ctx.plan!.parent,
      version: (await repo.metadataStrings(ctx.plan!.parent!, 'version'))[0],
      timestamp: ctx.plan!.sourceDateEpoch,
      inputhash: ctx.plan!.inputHash,
      packages: await repo.metadataStrings(ctx.plan!.parent!, 'apt-ostree.packages'),
      diff: {added: [], removed: [], changed: []},
      timings,
      unchanged: true,
    }
    if (options.writeCommitidTo) await writeFile(options.writeCommitidTo, result.commit)
    if (options.writeComposejsonTo) await writeFile(options.writeComposejsonTo, JSON.stringify(result, null, 2) + '\n')
    return result
  } finally {
    await workspace.dispose()
  }
}

