import {readFile} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import type {ResolvedTreefile} from '../treefile/index.js'
import {failureAt, originOf} from '../treefile/index.js'
import {sha256} from '../hash.js'

export interface ReleaseState {
  url: string
  sha256: string
  /** The Release file's Date, seconds since the epoch. */
  date: number
}

async function fetchText(url: string, signal: AbortSignal): Promise<string> {
  if (url.startsWith('file://')) return readFile(fileURLToPath(url), 'utf8')
  const response = await fetch(url, {signal: AbortSignal.any([signal, AbortSignal.timeout(60_000)])})
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`)
  return response.text()
}

/**
 * The InRelease of every repo suite: its digest goes into the input hash (a
 * new archive state means a new build), its Date gives the default
 * SOURCE_DATE_EPOCH. An unreachable repo fails here, at its treefile line.
 */
export async function fetchReleases(resolved: ResolvedTreefile, signal: AbortSignal): Promise<ReleaseState[]> {
  const requests = resolved.treefile.repos.flatMap((repo, index) =>
    repo.suites.map(async (suite): Promise<ReleaseState> => {
      const base = repo.uris[0].replace(/\/+$/, '').replace(/^(copy|mirror\+)/, '')
      const url = `${base}/dists/${suite}/InRelease`
      let text: string
      try {
        text = await fetchText(url, signal)
      } catch (error) {
        if (signal.aborted) throw error
        // fetch only says "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ...) is its cause.
        const {cause} = error as {cause?: {code?: string; message?: string}}
        const reason = cause?.code ?? cause?.message ?? (error as Error).message
        throw failureAt(originOf(resolved, 'repos', index), `repo "${repo.name}": cannot fetch ${url}: ${reason}`)
      }
      if (!repo.trusted && !text.includes('-----BEGIN PGP SIGNED MESSAGE-----')) {
        throw failureAt(originOf(resolved, 'repos', index), `repo "${repo.name}": ${url} is not signed; set "trusted: true" to accept an unsigned repo`)
      }
      const date = Date.parse(/^Date: (.*)$/m.exec(text)?.[1] ?? '')
      return {url, sha256: sha256(text), date: Number.isNaN(date) ? 0 : Math.floor(date / 1000)}
    }),
  )
  return Promise.all(requests)
}
