import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {AptOstreeError} from '../errors.js'
import type {RunOptions} from '../tools/exec.js'
import type {Sandbox} from './bwrap.js'
import {failureOf, parseEvent, type WorkerEvent} from './worker-protocol.js'

/** Where the tool and node are inside the sandbox: bound there, as the build namespace's root may not reach their host paths. */
const TOOL = '/run/apt-ostree/tool'
const NODE = '/run/apt-ostree/node'

/** The package root (dist/ and src/ are below it) and how the worker runs: built, or from sources through tsx. */
function workerCommand(): {toolRoot: string; command: string[]} {
  const here = fileURLToPath(import.meta.url)
  const toolRoot = path.resolve(path.dirname(here), '../..')
  const fromSources = here.endsWith('.ts')
  const entry = path.join(path.dirname(here), '..', 'worker', fromSources ? 'main.ts' : 'main.js')
  const script = path.posix.join(TOOL, path.relative(toolRoot, entry))
  return {toolRoot, command: [NODE, ...(fromSources ? ['--import', `${TOOL}/node_modules/tsx/dist/loader.mjs`] : []), script]}
}

export interface WorkerOptions extends Pick<RunOptions, 'log' | 'signal' | 'grant'> {
  /** Host paths the job needs, bound read-only: `host path -> path inside`. */
  readOnly?: Array<[string, string]>
  /** Each stage, progress line and warning the worker reports. */
  onEvent?: (event: Exclude<WorkerEvent, {event: 'done' | 'failed'}>) => void
}

/**
 * Run the worker in the sandbox on JOB (every path in it a path inside the
 * sandbox) and return its result; a failure it reports is thrown as the
 * error it was.
 */
export async function runWorker<Result>(job: object, sandbox: Sandbox, options: WorkerOptions): Promise<Result> {
  const {toolRoot, command} = workerCommand()
  let result: {value: Result} | undefined
  let failure: AptOstreeError | undefined
  try {
    await sandbox.run(command, {
      label: 'the apt-ostree worker',
      input: JSON.stringify(job),
      log: options.log,
      signal: options.signal,
      grant: options.grant,
      readOnly: [[toolRoot, TOOL], [process.execPath, NODE], ...(options.readOnly ?? [])],
      onLine: (line) => {
        const event = parseEvent(line)
        if (!event) return
        if (event.event === 'done') result = {value: event.result as Result}
        else if (event.event === 'failed') failure = failureOf(event, options.log?.path)
        else options.onEvent?.(event)
      },
    })
  } catch (error) {
    // The worker said what went wrong in its own words; its exit status adds nothing.
    throw failure ?? error
  }
  if (!result) throw new AptOstreeError('the apt-ostree worker ended without a result')
  return result.value
}
