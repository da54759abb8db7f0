import {AptOstreeError} from '../errors.js'
import type {ResolvedTreefile} from '../treefile/index.js'
import type {ValueOrigin} from '../treefile/location.js'

/**
 * The tree worker: the half of a compose that works on the tree once
 * package code has run in it (customize, ostreeify, the commit), run as a
 * node process inside the sandbox. It gets a job as JSON on stdin and
 * answers with one JSON event per line on stdout.
 */

/** A resolved treefile as JSON: its origins map as entries. */
export type SerializedTreefile = Omit<ResolvedTreefile, 'origins'> & {origins: Array<[string, ValueOrigin]>}

export function serializeTreefile(resolved: ResolvedTreefile): SerializedTreefile {
  return {...resolved, origins: [...resolved.origins]}
}

export function deserializeTreefile(serialized: SerializedTreefile): ResolvedTreefile {
  return {...serialized, origins: new Map(serialized.origins)}
}

/** Every path is a path inside the sandbox. */
export interface ComposeJob {
  kind: 'compose'
  resolved: SerializedTreefile
  root: string
  scratch: string
  /** The bare-user repo the commit goes to. */
  stagingRepo: string
  sourceDateEpoch: number
  timestamp: number
  version?: string
  parent?: string
  inputHash: string
  extraMetadata: Record<string, string>
}

/** The digest of a tree (what a cached bootstrapped tree is checked with). */
export interface DigestJob {
  kind: 'digest'
  root: string
}

export type TreeWorkerJob = ComposeJob | DigestJob

export interface ComposeResult {
  commit: string
  /** `name=version:arch`, sorted. */
  packages: string[]
  kernelVersion?: string
}

export interface DigestResult {
  digest: string
}

/** What each kind of job answers. */
export type TreeWorkerResult<Job extends TreeWorkerJob> = Job extends ComposeJob ? ComposeResult : DigestResult

/** The stages the worker runs, in order; the host shows each as its own. */
export const WORKER_STAGES = ['customize', 'ostreeify', 'commit'] as const

export type WorkerEvent =
  | {event: 'stage'; name: (typeof WORKER_STAGES)[number]}
  | {event: 'progress'; line: string}
  | {event: 'title'; text: string}
  | {event: 'warn'; message: string}
  | {event: 'done'; result: ComposeResult | DigestResult}
  | {event: 'failed'; message: string; exitCode: number; details: string[]}

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

/** A failure the worker reported, as the error it was. */
export function failureOf(event: Extract<WorkerEvent, {event: 'failed'}>): AptOstreeError {
  return new AptOstreeError(event.message, event.exitCode, event.details)
}
