// eslint-disable-next-line no-restricted-imports -- keepDisk copies the host's own copies of a kernel and initramfs
import {copyFile, mkdir, rename} from 'node:fs/promises'
import path from 'node:path'
import {architectureNamed, bootModel, hostArchitecture, type Architecture} from '../arch.js'
import {Workspace} from '../workspace.js'
import {AptOstreeError} from '../errors.js'
// eslint-disable-next-line no-restricted-imports -- only the disk image the user named
import {pathExists} from '../fs.js'
import {bootRelative, deployCommit} from './deploy.js'
import {addToDeploymentEtc, bootReport, bootReportFiles, targetName} from './guest-report.js'
import {imagePath, makeRootImage, ROOT_LABEL} from './disk.js'
import {copyConfined} from '../sandbox/confined-open.js'
import {chooseAccelerator, firmwareVars, qemuCommand, type BootMethod} from './qemu.js'
import {resolveSource, type DeploySource} from './source.js'
import {bootRetryingOnce, type BootReport} from './watch.js'

export interface BootOptions {
  /** A commit or image to deploy into a throwaway disk, or a disk image (UEFI) as it is. */
  source: DeploySource | {disk: string; architecture?: Architecture}
  cacheDir: string
  timeoutSeconds: number
  /** Default: the treefile's default-target recorded in the commit, else multi-user.target. */
  target?: string
  /** Keep the disk (and kernel) under CACHEDIR/vm and report the QEMU command that boots it again. */
  keep?: boolean
  onLine?: (line: string) => void
  progress?: (line: string) => void
}

export interface BootResult extends BootReport {
  commit?: string
  target: string
  consoleLog: string
  /** With keep: the QEMU command line booting the kept disk. */
  command?: string[]
}

const DEFAULT_TARGET = 'multi-user.target'

/** Disk image formats QEMU is told about, by file name. */
export function diskFormatOf(file: string): 'raw' | 'qcow2' {
  return file.endsWith('.qcow2') ? 'qcow2' : 'raw'
}

/**
 * Boot a commit, an image or a disk under QEMU and report. A commit or image
 * is deployed by the target's own ostree into a throwaway sysroot, made an
 * ext4 disk and booted with its kernel given directly; a disk boots through
 * UEFI firmware. Everything is removed afterwards, on every exit path (the
 * console log stays under CACHEDIR/logs, the disk under CACHEDIR/vm with keep).
 */
export async function bootSystem(options: BootOptions): Promise<BootResult> {
  const {source} = options
  if (options.target !== undefined) targetName(options.target, '--target')
  if ('disk' in source && !(await pathExists(source.disk))) throw new AptOstreeError(`${source.disk}: no such disk image`)
  const workspace = await Workspace.open(path.resolve(options.cacheDir), 'vm-boot')
  const consoleLog = workspace.log.path.replace(/\.log$/, '-console.log')
  const progress = options.progress ?? (() => undefined)
  try {
    let method: BootMethod
    let disk: string
    let commit: string | undefined
    let target = options.target
    // A disk says nothing of its architecture: it is the host's unless the caller says.
    let arch: Architecture = ('disk' in source && source.architecture) || hostArchitecture()
    const host = await workspace.hostWorkDirectory()
    if ('disk' in source) {
      disk = path.resolve(source.disk)
      const vars = path.join(host, 'firmware-vars.fd')
      await firmwareVars(bootModel(arch), vars)
      method = {kind: 'uefi', vars}
    } else {
      const resolved = await resolveSource(source, workspace, progress)
      commit = resolved.commit
      arch = architectureNamed(resolved.architecture)
      target ??= targetName(resolved.defaultTarget ?? DEFAULT_TARGET, "the commit's default-target")
      progress('deploying with the target\'s ostree')
      const deployment = await deployCommit({repo: resolved.repo.path, commit: commit!, origin: resolved.origin, kargs: [`root=LABEL=${ROOT_LABEL}`, 'rw']}, workspace)
      await addToDeploymentEtc(deployment, bootReportFiles(target), workspace)
      progress('making the disk image')
      disk = await imagePath(await makeRootImage(deployment.sysroot, workspace))
      // The kernel and initramfs the entry names, copied out of the sysroot through the confined resolver: QEMU gets the host's copies.
      const bootDir = path.join(deployment.sysroot, 'boot')
      const [kernel, initrd] = [path.join(host, 'kernel'), path.join(host, 'initrd')]
      await copyConfined(bootDir, bootRelative(deployment.entry.linux), kernel, "the boot entry's kernel")
      await copyConfined(bootDir, bootRelative(deployment.entry.initrd), initrd, "the boot entry's initramfs")
      method = {kind: 'kernel', kernel, initrd, append: deployment.entry.options}
      progress(`booting ${deployment.entry.title}`)
    }
    target ??= DEFAULT_TARGET
    const model = bootModel(arch)
    const {accelerator, reason} = await chooseAccelerator(arch, workspace.signal)
    progress(reason)
    const diskFormat = diskFormatOf(disk)
    const report = await bootRetryingOnce({model, method, disk, diskFormat, accelerator, target, guestReport: bootReport, timeoutSeconds: options.timeoutSeconds, consoleLog, signal: workspace.signal, onLine: options.onLine}, {progress})
    const kept = options.keep ? await keepDisk(workspace, method, disk) : undefined
    const command = kept ? qemuCommand({...kept, model, diskFormat, accelerator: report.accelerator}) : undefined
    return {...report, commit, target, consoleLog, command}
  } catch (error) {
    throw workspace.interrupted(error)
  } finally {
    await workspace.dispose()
  }
}

/** Move what booted out of the work dir into CACHEDIR/vm/STAMP, so the printed command can boot it again. */
async function keepDisk(workspace: Workspace, method: BootMethod, disk: string): Promise<{method: BootMethod; disk: string}> {
  const directory = path.join(workspace.cacheDir, 'vm', path.basename(workspace.log.path, '.log'))
  await mkdir(directory, {recursive: true})
  const keep = async (file: string, copy: boolean): Promise<string> => {
    const kept = path.join(directory, path.basename(file))
    await (copy ? copyFile(file, kept) : rename(file, kept))
    return kept
  }
  // A disk the user named stays where it is; one made here moves.
  const keptDisk = disk.startsWith(workspace.workDir) ? await keep(disk, false) : disk
  if (method.kind === 'uefi') return {disk: keptDisk, method: {kind: 'uefi', vars: await keep(method.vars, false)}}
  return {disk: keptDisk, method: {...method, kernel: await keep(method.kernel, true), initrd: await keep(method.initrd, true)}}
}
