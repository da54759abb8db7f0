import path from 'node:path'
import {pathExists} from '../fs.js'
import {OstreeRepo} from '../tools/ostree.js'
import type {Workspace} from '../workspace.js'

/**
 * The cache's bare-user staging repo, where the sandbox commits (it skips
 * the objects it has) and where images are written from: as the host reads
 * it, and as the sandbox changes it (every change from inside, so all of it
 * belongs to the build namespace's root).
 */
export interface StagingRepo {
  host: OstreeRepo
  inside: OstreeRepo
  /** Made by this open: there was none in the cache dir. */
  created: boolean
}

export async function openStaging(workspace: Workspace): Promise<StagingRepo> {
  const directory = path.join(workspace.cacheDir, 'staging-repo')
  const inside = new OstreeRepo(directory, {runner: workspace.sandbox, path: workspace.sandbox.inside(directory)})
  const created = !(await pathExists(path.join(directory, 'config')))
  if (created) {
    await workspace.sandboxDirectory('staging-repo')
    await inside.init('bare-user', {log: workspace.log})
  }
  return {host: new OstreeRepo(directory), inside, created}
}

/**
 * A staging repo that fails ostree fsck is a cache that lies: thrown away
 * and started again, with a warning. Says whether it was kept.
 */
export async function verifyStaging(staging: StagingRepo, workspace: Workspace, warn: (message: string) => void): Promise<boolean> {
  const problems = await staging.inside.fsck({log: workspace.log, signal: workspace.signal})
  if (problems.length === 0) return true
  warn(`the staging repo failed ostree fsck (${problems[0]}${problems.length > 1 ? `, and ${problems.length - 1} more` : ''}): building it again`)
  await workspace.removeTree(staging.host.path)
  await workspace.sandboxDirectory('staging-repo')
  await staging.inside.init('bare-user', {log: workspace.log})
  return false
}

