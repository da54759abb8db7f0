import {createHash} from 'node:crypto'
import {createReadStream, createWriteStream} from 'node:fs'
import {mkdir, rename, rm} from 'node:fs/promises'
import path from 'node:path'
import {Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {fileURLToPath} from 'node:url'
import {AptOstreeError, InterruptedError} from '../errors.js'
import type {ReleaseFile} from './release.js'

/** Tries of one download before it counts as failed (the mirror's hiccups). */
const ATTEMPTS = 3
/** How long a fetch may wait for the server's next byte (headers or body) before it counts as failed. */
const IDLE_TIMEOUT_MS = 30_000

/** Why a fetch failed, in a few words: fetch itself only says "fetch failed". */
export function fetchFailure(error: unknown): string {
  const {cause} = error as {cause?: {code?: string; message?: string}}
  return cause?.code ?? cause?.message ?? (error as Error).message
}

/**
 * An abort signal that fires with SIGNAL, or when IDLE_MS pass without a
 * `touch()`. The timer is our own and cleared by `done()`: measured here, a
 * fetch given `AbortSignal.any([signal, AbortSignal.timeout(…)])` against a
 * server that never answers waited for undici's own 300 s headers timeout.
 */
function idleSignal(signal: AbortSignal, idleMs: number): {signal: AbortSignal; touch: () => void; done: () => void} {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const touch = (): void => {
    clearTimeout(timer)
    timer = setTimeout(() => controller.abort(new Error(`no answer for ${idleMs / 1000} s`)), idleMs)
  }
  const forward = (): void => controller.abort(signal.reason)
  if (signal.aborted) forward()
  signal.addEventListener('abort', forward, {once: true})
  touch()
  return {
    signal: controller.signal,
    touch,
    done: () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', forward)
    },
  }
}

/** The bytes at URL (http(s):// or file://), chunk by chunk; a server silent for IDLE_MS fails it. */
async function* download(url: string, signal: AbortSignal, idleMs: number): AsyncGenerator<Uint8Array> {
  if (url.startsWith('file://')) {
    yield* createReadStream(fileURLToPath(url))
    return
  }
  const idle = idleSignal(signal, idleMs)
  try {
    const response = await fetch(url, {signal: idle.signal})
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} ${response.statusText}`)
    for await (const chunk of response.body) {
      idle.touch()
      yield chunk
    }
  } finally {
    idle.done()
  }
}

/** A small text file (an InRelease): http(s):// or file://. */
export async function fetchText(url: string, signal: AbortSignal, idleMs = IDLE_TIMEOUT_MS): Promise<string> {
  const chunks: Uint8Array[] = []
  for await (const chunk of download(url, signal, idleMs)) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Download a file whose size and SHA256 are known (from a signed InRelease
 * or a Packages index) to DESTINATION: written beside it and renamed only
 * when both match, so DESTINATION is never a partial or wrong file. Each URL
 * is tried in turn, ATTEMPTS times.
 */
export async function downloadVerified(urls: string[], expected: ReleaseFile, destination: string, signal: AbortSignal): Promise<void> {
  await mkdir(path.dirname(destination), {recursive: true})
  const partial = `${destination}.partial-${process.pid}`
  const reasons: string[] = []
  for (const url of urls) {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const hash = createHash('sha256')
        let size = 0
        const counting = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk)
            size += chunk.length
            callback(null, chunk)
          },
        })
        await pipeline(download(url, signal, IDLE_TIMEOUT_MS), counting, createWriteStream(partial))
        const digest = hash.digest('hex')
        if (size !== expected.size || digest !== expected.sha256) {
          throw new Error(`got ${size} bytes with sha256 ${digest.slice(0, 16)}…, expected ${expected.size} bytes with ${expected.sha256.slice(0, 16)}…`)
        }
        await rename(partial, destination)
        return
      } catch (error) {
        await rm(partial, {force: true})
        if (signal.aborted) throw new InterruptedError(String(signal.reason ?? 'SIGINT'))
        reasons.push(`${url}: ${fetchFailure(error)}`)
      }
    }
  }
  throw new AptOstreeError(`cannot download ${path.basename(destination)}: ${[...new Set(reasons)].join('; ')}`)
}
