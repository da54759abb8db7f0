import path from 'node:path'
import {Workspace} from '../compose/workspace.js'
import {OstreeRepo} from '../tools/ostree.js'
import {AptOstreeError, requireRoot} from '../errors.js'
import {deployCommit, releaseSysroot} from './deploy.js'
import {makeRootImage, ROOT_LABEL} from './disk.js'
import {bootAndWatch, type BootReport} from './qemu.js'

export interface BootCommitOptions {
  repo: string
  ref: string
  cacheDir: string
  timeoutSeconds: number
  /** Default: the treefile's default-target recorded in the commit, else multi-user.target. */
  target?: string
  onLine?: (line: string) => void
  progress?: (line: string) => void
}

export interface BootResult extends BootReport {
  commit: string
  target: string
  consoleLog: string
}

/** The default target the commit's treefile asked for. */
async function commitTarget(repo: OstreeRepo, commit: string): Promise<string | undefined> {
  const [treefile] = await repo.metadataStrings(commit, 'apt-ostree.treefile')
  if (!treefile) return undefined
  return (JSON.parse(treefile) as {'default-target'?: string})['default-target']
}

/**
 * Deploy a commit into a throwaway sysroot, make it a disk, boot it under
 * QEMU and report. Everything is removed afterwards, on every exit path; the
 * console log stays under CACHEDIR/logs.
 */
export async function bootCommit(options: BootCommitOptions): Promise<BootResult> {
  requireRoot('vm boot')
  const repo = new OstreeRepo(path.resolve(options.repo))
  if (!(await repo.exists())) throw new AptOstreeError(`${options.repo}: not an OSTree repo`)
  const commit = await repo.resolve(options.ref)
  if (!commit) throw new AptOstreeError(`${options.ref}: no such ref or commit in ${options.repo}`)
  const [bootable] = await repo.metadataStrings(commit, 'ostree.linux')
  if (!bootable) throw new AptOstreeError(`${options.ref}: the commit has no kernel (no ostree.linux metadata): nothing to boot`)
  const target = options.target ?? (await commitTarget(repo, commit)) ?? 'multi-user.target'
  const workspace = await Workspace.open(path.resolve(options.cacheDir), 'vm-boot')
  const run = {log: workspace.log, signal: workspace.signal}
  const consoleLog = workspace.log.path.replace(/\.log$/, '-console.log')
  try {
    options.progress?.('deploying with the target\'s ostree')
    const deployment = await deployCommit({repo: repo.path, ref: commit, workDir: workspace.workDir, kargs: [`root=LABEL=${ROOT_LABEL}`, 'rw'], run})
    workspace.onDispose(() => releaseSysroot(deployment.sysroot, {log: workspace.log}))
    options.progress?.('making the disk image')
    const disk = path.join(workspace.workDir, 'root.img')
    await makeRootImage(deployment.sysroot, disk, run)
    options.progress?.(`booting under QEMU (${deployment.entry.title})`)
    const boot = path.join(deployment.sysroot, 'boot')
    const report = await bootAndWatch({
      kernel: path.join(boot, deployment.entry.linux),
      initrd: path.join(boot, deployment.entry.initrd),
      append: deployment.entry.options,
      disk,
      target,
      timeoutSeconds: options.timeoutSeconds,
      consoleLog,
      signal: workspace.signal,
      onLine: options.onLine,
    })
    return {...report, commit, target, consoleLog}
  } catch (error) {
    throw workspace.interrupted(error)
  } finally {
    await workspace.dispose()
  }
}
