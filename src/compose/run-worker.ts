import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {AptOstreeError} from '../errors.js'
import type {Sandbox} from '../sandbox/bwrap.js'
import type {JobContext} from '../workspace.js'
import type {Reporter, StageProgress} from './reporter.js'
import {failureOf, parseEvent, WORKER_STAGES, type TreeWorkerJob, type TreeWorkerResult, type WorkerEvent} from './worker-protocol.js'

/** Where the tool and node are inside the sandbox: bound there, as the build namespace's root may not reach their host paths. */
const TOOL = '/run/apt-ostree/tool'
const NODE = '/run/apt-ostree/node'

/** The package root (dist/ and src/ are below it) and how its worker runs: built, or from sources through tsx. */
function workerCommand(): {toolRoot: string; command: string[]} {
  const here = fileURLToPath(import.meta.url)
  const toolRoot = path.resolve(path.dirname(here), '../..')
  const fromSources = here.endsWith('.ts')
  const script = path.posix.join(TOOL, path.relative(toolRoot, path.join(path.dirname(here), fromSources ? 'worker.ts' : 'worker.js')))
  return {toolRoot, command: [NODE, ...(fromSources ? ['--import', `${TOOL}/node_modules/tsx/dist/loader.mjs`] : []), script]}
}

/**
 * Stages the worker runs, shown as the host's own: each stage the worker
 * starts opens one with the reporter, which stays open until the next
 * starts or the worker ends; progress goes to the open one.
 */
class StageRelay {
  private current?: {name: string; started: number; progress: StageProgress; finish: (error?: unknown) => void}
  private readonly stages: Array<Promise<unknown>> = []
  /** Seconds per stage. */
  readonly timings: Record<string, number> = {}

  constructor(private readonly reporter: Reporter) {}

  start(name: string): void {
    this.finish()
    const stage: NonNullable<StageRelay['current']> = {name, started: performance.now(), progress: {progress: () => undefined, title: () => undefined}, finish: () => undefined}
    const finished = new Promise<void>((resolve, reject) => {
      stage.finish = (error) => (error === undefined ? resolve() : reject(error))
    })
    const done = this.reporter.stage(name, async (progress) => {
      stage.progress = progress
      await finished
    })
    this.stages.push(done.catch(() => undefined))
    this.current = stage
  }

  event(event: WorkerEvent): void {
    if (event.event === 'progress') this.current?.progress.progress(event.line)
    else if (event.event === 'title') this.current?.progress.title(event.text)
    else if (event.event === 'warn') this.reporter.warn(event.message)
  }

  /** End the open stage: done, or failed with ERROR. */
  finish(error?: unknown): void {
    if (!this.current) return
    this.timings[this.current.name] = Math.round((performance.now() - this.current.started) / 100) / 10
    this.current.finish(error)
    this.current = undefined
  }

  /** Wait until the reporter has shown every stage's end. */
  async settled(): Promise<void> {
    await Promise.all(this.stages)
  }
}

/** Run the tree worker in the sandbox on JOB; the stages of a compose job are reported as they run. */
export async function runTreeWorker<Job extends TreeWorkerJob>(job: Job, sandbox: Sandbox, reporter: Reporter, context: JobContext): Promise<{result: TreeWorkerResult<Job>; timings: Record<string, number>}> {
  const {toolRoot, command} = workerCommand()
  const relay = new StageRelay(reporter)
  let result: TreeWorkerResult<Job> | undefined
  let failure: AptOstreeError | undefined
  try {
    await sandbox.run(command, {
      label: 'the tree worker',
      input: JSON.stringify(job),
      log: context.log,
      signal: context.signal,
      readOnly: [[toolRoot, TOOL], [process.execPath, NODE]],
      onLine: (line) => {
        const event = parseEvent(line)
        if (!event) return
        if (event.event === 'stage') relay.start(event.name)
        else if (event.event === 'done') result = event.result as TreeWorkerResult<Job>
        else if (event.event === 'failed') failure = failureOf(event)
        else relay.event(event)
      },
    })
  } catch (error) {
    // The worker said what went wrong in its own words; its exit status adds nothing.
    const reported = failure ?? error
    relay.finish(reported)
    await relay.settled()
    throw reported
  }
  relay.finish()
  await relay.settled()
  if (!result) throw new AptOstreeError(`the tree worker ended without a result (stages: ${WORKER_STAGES.join(', ')})`)
  return {result, timings: relay.timings}
}
