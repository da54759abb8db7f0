import {createHash} from 'node:crypto'
import {createReadStream, createWriteStream} from 'node:fs'
import {mkdir, readFile, rename, rm} from 'node:fs/promises'
import path from 'node:path'
import {Readable, Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {fileURLToPath} from 'node:url'
import {AptOstreeError, InterruptedError} from '../errors.js'
import type {ReleaseFile} from './release.js'

/** Tries of one download before it counts as failed (the mirror's hiccups). */
const ATTEMPTS = 3
const TIMEOUT_MS = 120_000

/** Why a fetch failed, in a few words: fetch itself only says "fetch failed". */
export function fetchFailure(error: unknown): string {
  const {cause} = error as {cause?: {code?: string; message?: string}}
  return cause?.code ?? cause?.message ?? (error as Error).message
}

async function open(url: string, signal: AbortSignal): Promise<Readable> {
  if (url.startsWith('file://')) return createReadStream(fileURLToPath(url))
  const response = await fetch(url, {signal: AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)])})
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} ${response.statusText}`)
  return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream)
}

/** A small text file (an InRelease): http(s):// or file://. */
export async function fetchText(url: string, signal: AbortSignal): Promise<string> {
  if (url.startsWith('file://')) return readFile(fileURLToPath(url), 'utf8')
  const response = await fetch(url, {signal: AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)])})
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`)
  return response.text()
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
        await pipeline(await open(url, signal), counting, createWriteStream(partial))
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
