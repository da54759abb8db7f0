import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {sha256} from '../hash.js'
import type {OstreeRepo} from '../tools/ostree.js'
import type {ResolvedTreefile} from '../treefile/index.js'
import {TOOL_VERSION} from '../version.js'
import type {ParentCommit, PlanInputs} from './plan.js'
import {fetchReleases} from './releases.js'

export interface GatherOptions {
  repo: OstreeRepo
  sourceDateEpoch?: number
  extraMetadata: Record<string, string>
  forceNocache: boolean
  signal: AbortSignal
}

/** The ref's commit and what its metadata says, read once for the whole compose. */
export async function readParent(repo: OstreeRepo, ref: string): Promise<ParentCommit | undefined> {
  const commit = await repo.resolve(ref)
  if (!commit) return undefined
  const [timestamp, version, inputHash, packages] = await Promise.all([
    repo.timestamp(commit),
    repo.metadataStrings(commit, 'version'),
    repo.metadataStrings(commit, 'apt-ostree.inputhash'),
    repo.metadataStrings(commit, 'apt-ostree.packages'),
  ])
  return {commit, timestamp, version: version[0], inputHash: inputHash[0], packages}
}

/** The I/O the plan needs: file digests, the repos' InRelease, the parent commit. */
export async function gatherPlanInputs(resolved: ResolvedTreefile, options: GatherOptions): Promise<PlanInputs> {
  const base = path.dirname(resolved.path)
  const [digests, releases, parent] = await Promise.all([
    Promise.all(resolved.referencedFiles.map(async (file) => [path.relative(base, file), sha256(await readFile(file))] as const)),
    fetchReleases(resolved, options.signal),
    readParent(options.repo, resolved.treefile.ref),
  ])
  return {
    resolved,
    fileDigests: Object.fromEntries(digests),
    releases,
    parent,
    sourceDateEpoch: options.sourceDateEpoch,
    extraMetadata: options.extraMetadata,
    toolVersion: TOOL_VERSION,
    now: new Date(),
    forceNocache: options.forceNocache,
  }
}
