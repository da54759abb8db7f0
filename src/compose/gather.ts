import path from 'node:path'
import {ArchiveStore} from '../archive/capture.js'
import {lockDigest} from '../archive/lockfile.js'
import {fetchReleases} from '../archive/releases.js'
import type {PackageLock} from '../bootstrap/index.js'
import type {OstreeRepo} from '../tools/ostree.js'
import type {ResolvedTreefile} from '../treefile/index.js'
import {allSettledOrFirstFailure} from '../settle.js'
import {TOOL_VERSION, toolCodeDigest} from '../version.js'
import type {JobContext, Workspace} from '../workspace.js'
import {copiedKeyrings, type InputFiles, snapshotInputs} from './inputs.js'
import type {ParentCommit, PlanInputs} from './plan.js'

export interface GatherOptions {
  repo: OstreeRepo
  sourceDateEpoch?: number
  extraMetadata: Record<string, string>
  forceNocache: boolean
  lock?: PackageLock
  /** --archive-dir: every repo read from this captured archive. */
  archiveDir?: string
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

/** What the gathering step took: the plan's inputs, and the copies of the files the treefile names. */
export interface Gathered {
  inputs: PlanInputs
  files: InputFiles
}

/**
 * The I/O the plan needs, done once: the files the treefile names copied
 * into the work dir and hashed, every repo suite's InRelease fetched and
 * checked, the parent commit read.
 */
export async function gatherPlanInputs(resolved: ResolvedTreefile, workspace: Workspace, context: JobContext, options: GatherOptions): Promise<Gathered> {
  const files = await snapshotInputs(resolved, path.join(workspace.workDir, 'inputs'), workspace.sandboxOwner)
  const keyrings = copiedKeyrings(resolved, files)
  const [releases, parent, toolCode] = await allSettledOrFirstFailure([
    fetchReleases(resolved, keyrings, {...context, scratch: workspace.workDir}, {capture: options.archiveDir}),
    readParent(options.repo, resolved.treefile.ref),
    toolCodeDigest(),
  ])
  // Every InRelease read, kept by digest: `compose fetch` of this build's lockfile can find it after the archive moved on.
  const store = await ArchiveStore.of(workspace)
  for (const release of releases) await store.keep(release.text, release.sha256)
  return {
    files,
    inputs: {
      resolved,
      fileDigests: files.digests,
      releases,
      parent,
      sourceDateEpoch: options.sourceDateEpoch,
      extraMetadata: options.extraMetadata,
      toolVersion: TOOL_VERSION,
      toolCode,
      lock: options.lock && lockDigest(options.lock.lockfile, options.lock.strict),
      now: new Date(),
      forceNocache: options.forceNocache,
    },
  }
}
