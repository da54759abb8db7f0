import {availableParallelism} from 'node:os'
import {Worker} from 'node:worker_threads'
import {AptOstreeError} from '../errors.js'
import {writeLayerBlob, type Compression, type Descriptor} from './blob.js'
import type {ImageEntry} from './content.js'
import {layerTar} from './tar.js'

/** One layer to write: its entries, where their content is, and where the blob goes. */
export interface LayerJob {
  entries: ImageEntry[]
  repoPath: string
  mtime: number
  compression: Compression
  blobsDir: string
}

export type WrittenLayer = Descriptor & {diffId: string}

/** Tar, hash and compress one layer into its blob. */
export function writeLayer(job: LayerJob): Promise<WrittenLayer> {
  return writeLayerBlob(layerTar(job.entries, {repoPath: job.repoPath, mtime: job.mtime}), job.blobsDir, job.compression)
}

/** An error as it crosses from a worker: the fields fromSystemError and the user message need. */
export interface WorkerFailure {
  message: string
  name?: string
  code?: string
  path?: string
  syscall?: string
  exitCode?: number
  details?: string[]
}

function revive(failure: WorkerFailure): Error {
  if (failure.exitCode !== undefined) return new AptOstreeError(failure.message, failure.exitCode, failure.details ?? [])
  return Object.assign(new Error(failure.message), {code: failure.code, path: failure.path, syscall: failure.syscall})
}

/** Something that writes layers one at a time: a worker thread, or this thread. */
interface LayerWriter {
  write(job: LayerJob): Promise<WrittenLayer>
  close(): Promise<void>
}

function threadWriter(script: URL): LayerWriter {
  const worker = new Worker(script)
  return {
    async write(job) {
      const reply = await new Promise<{layer?: WrittenLayer; failure?: WorkerFailure}>((resolve, reject) => {
        worker.once('message', resolve)
        worker.once('error', reject)
        worker.postMessage(job)
      })
      worker.removeAllListeners('error')
      if (reply.failure) throw revive(reply.failure)
      return reply.layer!
    },
    close: async () => void (await worker.terminate()),
  }
}

/**
 * The built CLI writes on worker threads (layer-worker.js beside this
 * module); run from TypeScript sources (the test runner) there is no
 * script a worker can load, and this thread does the same work.
 */
function layerWriters(count: number): LayerWriter[] {
  const script = new URL('./layer-worker.js', import.meta.url)
  const inThread: LayerWriter = {write: writeLayer, close: async () => undefined}
  return Array.from({length: count}, () => (import.meta.url.endsWith('.js') ? threadWriter(script) : inThread))
}

/**
 * Write the layers, biggest first, each writer taking the next layer when
 * it is done: tarring, hashing and compressing run on every core, not only
 * the main thread. Results come back in job order.
 */
export async function writeLayers(jobs: LayerJob[], options: {signal: AbortSignal; onWritten: (index: number, layer: WrittenLayer) => void}): Promise<WrittenLayer[]> {
  const order = jobs.map((_, index) => index).sort((a, b) => size(jobs[b]) - size(jobs[a]))
  const results = new Array<WrittenLayer>(jobs.length)
  const writers = layerWriters(Math.min(jobs.length, availableParallelism() + 1))
  const stop = (): void => writers.forEach((writer) => void writer.close())
  options.signal.addEventListener('abort', stop, {once: true})
  let next = 0
  try {
    await Promise.all(
      writers.map(async (writer) => {
        while (next < order.length && !options.signal.aborted) {
          const index = order[next++]
          results[index] = await writer.write(jobs[index])
          options.onWritten(index, results[index])
        }
      }),
    )
    if (options.signal.aborted) throw options.signal.reason
    return results
  } finally {
    options.signal.removeEventListener('abort', stop)
    await Promise.all(writers.map((writer) => writer.close()))
  }
}

function size(job: LayerJob): number {
  return job.entries.reduce((sum, entry) => sum + entry.size, 0)
}
