import {AptOstreeError} from '../errors.js'

/**
 * The worker: a node process of apt-ostree itself, run inside the sandbox
 * as the build namespace's root, for the tool's own work on a tree code has
 * run in (customize, ostreeify, the commit; an image's tree; a tree's
 * digest). It reads a job as JSON on stdin and answers with one JSON event
 * per line on stdout. Its entry point is src/worker/main.ts.
 */
export type WorkerEvent =
  /** A named stage of the job starts (the host shows it as its own). */
  | {event: 'stage'; name: string}
  | {event: 'progress'; line: string}
  | {event: 'warn'; message: string}
  | {event: 'done'; result: unknown}
  | {event: 'failed'; message: string; exitCode: number; details: string[]}

/** What the worker's jobs tell the host while they run (as events), and the signal that stops them. */
export interface WorkerReport {
  stage: (name: string) => void
  progress: (line: string) => void
  warn: (message: string) => void
  signal: AbortSignal
}

/** One event, as the worker writes it. */
export function eventLine(event: WorkerEvent): string {
  return `${JSON.stringify(event)}\n`
}

/** A line of the worker's output as an event; undefined for anything else (stderr chatter). */
export function parseEvent(line: string): WorkerEvent | undefined {
  if (!line.startsWith('{"event":')) return undefined
  try {
    return JSON.parse(line) as WorkerEvent
  } catch {
    return undefined
  }
}

/** The worker's command log: its stderr, which the host writes into its own log line by line. */
export const WORKER_LOG = '/dev/stderr'

/** A failure the worker reported, as the error it was, pointing at the host's log (HOST_LOG) for the full output. */
export function failureOf(event: Extract<WorkerEvent, {event: 'failed'}>, hostLog?: string): AptOstreeError {
  const details = event.details.flatMap((line) => (line === `full log: ${WORKER_LOG}` ? (hostLog ? [`full log: ${hostLog}`] : []) : [line]))
  return new AptOstreeError(event.message, event.exitCode, details)
}
