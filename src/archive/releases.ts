import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {sha256} from '../hash.js'
import {allSettledOrFirstFailure} from '../settle.js'
import {verifyClearsigned} from '../tools/gpgv.js'
import {failureAt, originOf, usageErrorAt, type ResolvedTreefile} from '../treefile/index.js'
import type {JobContext} from '../workspace.js'
import {fetchFailure, fetchText} from './fetch.js'
import {nameProblem} from './names.js'
import {isClearsigned, parseRelease, signedText, type ReleaseInfo} from './release.js'

/** One suite of one archive URI of a treefile repo, as its InRelease says. */
export interface ReleaseState {
  /** The treefile repo's name and place in `repos`. */
  repo: string
  repoIndex: number
  /** The archive's base URI (no trailing slash), its place in the repo's `uris`, and the suite. */
  uri: string
  uriIndex: number
  suite: string
  /** The InRelease's URL on the archive: what the input hash names, also when it was read from a capture. */
  url: string
  /** Where this suite's files are read from: the archive's base URI, or its directory in a captured archive (--archive-dir). */
  source: string
  /** The InRelease, byte for byte: its digest is part of the input hash, and a capture keeps it. */
  text: string
  sha256: string
  /** The Release file's Date, seconds since the epoch. */
  date: number
  info: ReleaseInfo
}

/** The directory of one archive URI of a repo inside a local archive (the bootstrap's, or a capture). */
export function archiveDirectory(repo: string, uriIndex: number): string {
  return `${repo}-${uriIndex}`
}

/** Where fetchReleases reads the InRelease files from, besides the archive itself. */
export interface ReleaseSources {
  /** A captured archive's directory (--archive-dir): every suite is read from it. */
  capture?: string
  /** The InRelease digests a lockfile names, by URL, and where the store keeps a file of a digest. */
  locked?: {digests: Map<string, string>; store: (sha256: string) => string}
}

/** A treefile URI as apt reaches it over the network (copy:// and mirror+ are apt's prefixes). */
export function archiveBase(uri: string): string {
  return uri.replace(/\/+$/, '').replace(/^copy:/, 'file:').replace(/^mirror\+/, '')
}

/**
 * The InRelease of every suite of every URI of every repo, fetched and
 * checked as apt will check it, before any work: the signature against the
 * repo's keyring (gpgv), unless the repo is `trusted`; the Valid-Until
 * unless `check-valid-until: false`; that the suite has the target's
 * architecture. Each failure names the repo's line.
 * KEYRINGS are the keyrings to check against, by repo name; SCRATCH holds
 * the files gpgv reads. With `capture`, every suite is read from that
 * captured archive (--archive-dir). With `locked`, a suite whose InRelease
 * is no longer the locked one is read from the store by the locked digest
 * (a compose keeps every InRelease it read there).
 */
export async function fetchReleases(resolved: ResolvedTreefile, keyrings: Record<string, string>, context: JobContext & {scratch: string}, from: ReleaseSources = {}): Promise<ReleaseState[]> {
  const {capture, locked} = from
  const now = Math.floor(Date.now() / 1000)
  const requests = resolved.treefile.repos.flatMap((repo, repoIndex) =>
    repo.uris.flatMap((uri, uriIndex) =>
      repo.suites.map(async (suite, suiteIndex): Promise<ReleaseState> => {
        const origin = originOf(resolved, 'repos', repoIndex)
        // The schema admits no other suite; this keeps one from ever becoming a path that leaves dists/ or the scratch dir.
        const problem = nameProblem('suite', suite)
        if (problem) throw usageErrorAt(originOf(resolved, 'repos', repoIndex, 'suites', suiteIndex), `repo "${repo.name}": ${problem}`)
        const base = archiveBase(uri)
        const url = `${base}/dists/${suite}/InRelease`
        const source = capture ? pathToFileURL(path.join(capture, archiveDirectory(repo.name, uriIndex))).href : base
        let text: string
        try {
          text = await fetchText(`${source}/dists/${suite}/InRelease`, context.signal)
        } catch (error) {
          if (context.signal.aborted) throw error
          throw failureAt(origin, `repo "${repo.name}": cannot fetch ${url}: ${fetchFailure(error)}`)
        }
        const wanted = locked?.digests.get(url)
        if (locked && wanted && sha256(text) !== wanted) {
          const kept = await readFile(locked.store(wanted), 'utf8').catch(() => undefined)
          if (kept === undefined || sha256(kept) !== wanted) throw failureAt(origin, `repo "${repo.name}": ${url} is no longer the locked one (sha256:${wanted}), and the cache has not kept it: capture an archive while it is current, from the cache that composed it`)
          text = kept
        }
        // A trusted repo's is not checked: read as it is, as apt reads it.
        let release: string
        if (repo.trusted) release = signedText(text)
        else {
          if (!isClearsigned(text)) throw failureAt(origin, `repo "${repo.name}": ${url} is not signed; set "trusted: true" to accept an unsigned repo`)
          const file = path.join(context.scratch, `InRelease-${repoIndex}-${uriIndex}-${suite.replaceAll('/', '_')}`)
          await writeFile(file, text)
          const verdict = await verifyClearsigned(file, keyrings[repo.name], context)
          if (!verdict.good) throw failureAt(origin, `repo "${repo.name}": ${url} has no good signature by ${repo['signed-by']}: ${verdict.reason}`)
          // Only what the signature covers: text around it in the file is not the archive's word.
          release = verdict.signed
        }
        const info = parseRelease(release)
        if (info.validUntil !== undefined && info.validUntil < now) {
          const expiry = new Date(info.validUntil * 1000).toISOString()
          // A capture is an old state on purpose: its Valid-Until has passed, as a snapshot's has.
          if (capture) context.warn(`repo "${repo.name}": ${url} in the captured archive expired on ${expiry} (Valid-Until): accepted, as "check-valid-until: false" would`)
          else if (repo['check-valid-until']) throw failureAt(origin, `repo "${repo.name}": ${url} expired on ${expiry} (Valid-Until); set "check-valid-until: false" for a snapshot or a stale mirror`)
        }
        // Packages of "all" alone do not make a system of ARCH.
        if (info.architectures.length > 0 && !info.architectures.includes(resolved.arch)) {
          throw usageErrorAt(origin, `repo "${repo.name}": ${url} has no packages for ${resolved.arch} (its Architectures: ${info.architectures.join(' ')})`)
        }
        return {repo: repo.name, repoIndex, uri: base, uriIndex, suite, url, source, text, sha256: sha256(text), date: info.date, info}
      }),
    ),
  )
  return allSettledOrFirstFailure(requests)
}
