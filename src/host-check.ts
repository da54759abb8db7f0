import {writeFile} from 'node:fs/promises'
import path from 'node:path'
import {ARCHITECTURES, isForeign} from './arch.js'
import {AptOstreeError} from './errors.js'
import {BINFMT_MISC, foreignExecutionProblem} from './sandbox/binfmt.js'
import {OstreeRepo} from './tools/ostree.js'
import {Workspace} from './workspace.js'

/** One thing the build host must be able to do, as `doctor` reports it. */
export interface HostCheck {
  name: string
  ok: boolean
  detail: string
  /** Only some composes need it: doctor does not fail without it. */
  optional?: boolean
}

const messageOf = (error: unknown): string => (error instanceof AptOstreeError ? error.message : String(error))

/**
 * What the sandbox needs of this host and this user, tried for real in
 * CACHEDIR (made if need be, as a compose would): the build namespace (the
 * subordinate ids, newuidmap for an ordinary user), a job in the sandbox,
 * and user xattrs on the cache's file system, which the bare-user staging
 * repo keeps owners and modes in.
 */
export async function checkBuildHost(cacheDir: string): Promise<HostCheck[]> {
  let workspace: Workspace
  try {
    workspace = await Workspace.open(cacheDir, 'doctor')
  } catch (error) {
    return [{name: 'sandbox setup', ok: false, detail: messageOf(error)}]
  }
  const run = {log: workspace.log, signal: workspace.signal}
  const checks: HostCheck[] = [{name: 'sandbox setup', ok: true, detail: workspace.idSource}]
  try {
    await workspace.sandbox.run(['true'], run).then(
      () => checks.push({name: 'sandbox', ok: true, detail: 'bwrap in the build namespace: no host capability, no network'}),
      (error: unknown) => checks.push({name: 'sandbox', ok: false, detail: messageOf(error)}),
    )
    const content = await workspace.ownedDirectory(path.join(workspace.workDir, 'xattr-check', 'content'))
    await writeFile(path.join(content, 'file'), 'apt-ostree\n')
    const repoDirectory = await workspace.ownedDirectory(path.join(workspace.workDir, 'xattr-check', 'repo'))
    const repo = new OstreeRepo(repoDirectory, {runner: workspace.sandbox, path: workspace.sandbox.inside(repoDirectory)})
    await repo.init('bare-user', run)
      .then(() => repo.commit({tree: workspace.sandbox.inside(content), branch: 'check'}, {...run, grant: {read: [content]}}))
      .then(
        () => checks.push({name: 'user xattrs', ok: true, detail: `${cacheDir} keeps them (the staging repo needs them)`}),
        (error: unknown) => checks.push({name: 'user xattrs', ok: false, detail: `${cacheDir}: a bare-user repo cannot be written there (${messageOf(error).split('\n')[0]}); choose a cache dir on ext4, xfs or btrfs`}),
      )
  } finally {
    await workspace.dispose()
  }
  return checks
}

/** Whether trees of each other architecture apt-ostree boots can be composed here (qemu-user through binfmt_misc), and the fix when not. */
export async function checkForeignArchitectures(): Promise<HostCheck[]> {
  const foreign = ARCHITECTURES.filter((arch) => arch.boot && isForeign(arch.debian))
  return Promise.all(foreign.map(async (arch): Promise<HostCheck> => {
    const problem = await foreignExecutionProblem(arch.debian)
    return {name: `${arch.debian} trees`, ok: !problem, detail: problem ?? `through ${arch.qemuUser} (${BINFMT_MISC}, F flag)`, optional: true}
  }))
}
