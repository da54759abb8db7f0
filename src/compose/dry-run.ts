import {chmod, copyFile, mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {ArchiveStore} from '../archive/capture.js'
import {fetchReleases} from '../archive/releases.js'
import {resolvePackageSet, type PackageLock} from '../bootstrap/index.js'
import {checkForeignExecution} from '../sandbox/binfmt.js'
import type {SimulatedPackage} from '../tools/mmdebstrap.js'
import type {ResolvedTreefile} from '../treefile/index.js'
import {ToolError} from '../errors.js'
import {Workspace} from '../workspace.js'
import {copiedKeyrings, snapshotInputs} from './inputs.js'

/**
 * `--dry-run`: the package set apt would install, resolved as a compose
 * resolves it (the repos checked, their indices, apt's simulation in the
 * sandbox), in a throwaway directory: nothing is written anywhere else.
 */
export async function dryRun(resolved: ResolvedTreefile, warn: (message: string) => void, lock?: PackageLock, archiveDir?: string): Promise<SimulatedPackage[]> {
  await checkForeignExecution(resolved.arch)
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'apt-ostree-dry-run-'))
  // The sandbox enters it as the build namespace's root, which mkdtemp's 0700 would keep out.
  await chmod(scratch, 0o755)
  try {
    const workspace = await Workspace.open(scratch, 'dry-run')
    try {
      const context = {...workspace.job(() => undefined, warn), scratch: workspace.workDir}
      const files = await snapshotInputs(resolved, path.join(workspace.workDir, 'inputs'), workspace.sandboxOwner)
      const keyrings = copiedKeyrings(resolved, files)
      const releases = await fetchReleases(resolved, keyrings, context, {capture: archiveDir})
      const store = await ArchiveStore.of(workspace)
      return await resolvePackageSet({resolved, releases, keyrings, store, sandbox: workspace.sandbox, sandboxOwner: workspace.sandboxOwner, sourceDateEpoch: 0, context, lock})
    } catch (error) {
      throw workspace.interrupted(await keepLog(error, workspace))
    } finally {
      await workspace.dispose()
    }
  } finally {
    await rm(scratch, {recursive: true, force: true})
  }
}

/** A failed tool's log outlives the throwaway directory: copied beside it, the error pointing there. */
async function keepLog(error: unknown, workspace: Workspace): Promise<unknown> {
  if (!(error instanceof ToolError) || error.logFile !== workspace.log.path) return error
  const kept = path.join(os.tmpdir(), `apt-ostree-dry-run-${process.pid}.log`)
  await workspace.log.close()
  await copyFile(workspace.log.path, kept)
  return new ToolError(error.command, error.message, error.stderr, kept)
}
