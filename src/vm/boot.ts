import path from 'node:path'
import {Workspace} from '../compose/workspace.js'
import {OstreeRepo} from '../tools/ostree.js'
import {AptOstreeError, requireRoot} from '../errors.js'
import {commitImage} from '../oci/import.js'
import type {ImageReference} from '../oci/reference.js'
import {deployCommit, releaseSysroot} from './deploy.js'
import {makeRootImage, ROOT_LABEL} from './disk.js'
import {bootAndWatch, type BootReport} from './qemu.js'

export interface BootCommitOptions {
  /** What to boot: REF of REPO, or an OCI image (committed back to OSTree first, as bootc would import it). */
  source: {repo: string; ref: string} | {image: ImageReference}
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
/** The repo and commit to boot, after checking there is a kernel to boot. */
async function bootSource(options: BootCommitOptions, workspace: Workspace): Promise<{repo: OstreeRepo; commit: string}> {
  const {source} = options
  if ('image' in source) {
    options.progress?.(`committing the image's filesystem (/etc back to /usr/etc)`)
    return commitImage(source.image, workspace.workDir, {log: workspace.log, signal: workspace.signal})
  }
  const repo = new OstreeRepo(path.resolve(source.repo))
  if (!(await repo.exists())) throw new AptOstreeError(`${source.repo}: not an OSTree repo`)
  const commit = await repo.resolve(source.ref)
  if (!commit) throw new AptOstreeError(`${source.ref}: no such ref or commit in ${source.repo}`)
  const [bootable] = await repo.metadataStrings(commit, 'ostree.linux')
  if (!bootable) throw new AptOstreeError(`${source.ref}: the commit has no kernel (no ostree.linux metadata): nothing to boot`)
  return {repo, commit}
}

/**
 * Deploy a commit (or an image, committed back) into a throwaway sysroot,
 * make it a disk, boot it under QEMU and report. Everything is removed
 * afterwards, on every exit path; the console log stays under CACHEDIR/logs.
 */
export async function bootCommit(options: BootCommitOptions): Promise<BootResult> {
  requireRoot('vm boot')
  const workspace = await Workspace.open(path.resolve(options.cacheDir), 'vm-boot')
  const run = {log: workspace.log, signal: workspace.signal}
  const consoleLog = workspace.log.path.replace(/\.log$/, '-console.log')
  try {
    const {repo, commit} = await bootSource(options, workspace)
    const target = options.target ?? (await commitTarget(repo, commit)) ?? 'multi-user.target'
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
