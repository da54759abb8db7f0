import {mkdir, rename, rm, stat} from 'node:fs/promises'
import path from 'node:path'
import {Workspace} from '../workspace.js'
import {assertWritable} from '../fs.js'
import {qemuImgConvert} from '../tools/disk.js'
import {deployCommit} from './deploy.js'
import {makeUefiDisk, ROOT_LABEL} from './disk.js'
import {resolveSource, type DeploySource} from './source.js'

export interface DiskImageOptions {
  source: DeploySource
  output: string
  format: 'raw' | 'qcow2'
  /** The whole disk, MiB; default: what the deployment needs with room to grow. */
  sizeMiB?: number
  /** Kernel arguments beyond the root, console and systemd.gpt_auto=0 ones. */
  kargs: string[]
  cacheDir: string
  progress: (line: string) => void
}

export interface DiskImageResult {
  output: string
  format: 'raw' | 'qcow2'
  commit: string
  /** The disk's size as a machine sees it, MiB. */
  sizeMiB: number
  /** Bytes the file takes (a raw disk is sparse, qcow2 holds only what is used). */
  fileBytes: number
}

/**
 * The kernel arguments every disk gets: the root by label, both consoles
 * (the serial one last, so it is /dev/console under a VM), and no
 * systemd-gpt-auto, which would mount the EFI partition on /boot (ostree's).
 */
const DISK_KARGS = [`root=LABEL=${ROOT_LABEL}`, 'rw', 'systemd.gpt_auto=0', 'console=tty0', 'console=ttyS0']

/**
 * A disk a UEFI machine boots: the commit (or image) deployed by the target's
 * own ostree, a GPT with an EFI system partition holding systemd-boot and the
 * BLS entries ostree wrote, and the ext4 root with the sysroot. Written beside
 * OUTPUT and renamed at the end, so OUTPUT is the old file or the whole new one.
 */
export async function makeDiskImage(options: DiskImageOptions): Promise<DiskImageResult> {
  const output = path.resolve(options.output)
  await assertWritable(output, `disk image ${options.output}`)
  const workspace = await Workspace.open(path.resolve(options.cacheDir), 'disk-image')
  const run = {log: workspace.log, signal: workspace.signal}
  const partial = `${output}.apt-ostree-${process.pid}.partial`
  try {
    const {repo, commit} = await resolveSource(options.source, workspace, options.progress)
    options.progress('deploying with the target\'s ostree')
    const deployment = await deployCommit({repo: repo.path, commit, kargs: [...DISK_KARGS, ...options.kargs]}, workspace)
    options.progress('making the EFI and root partitions')
    await mkdir(path.dirname(output), {recursive: true})
    const raw = options.format === 'raw' ? partial : path.join(workspace.workDir, 'disk.raw')
    const sizeMiB = await makeUefiDisk({sysroot: deployment.sysroot, deployment: deployment.root, disk: raw, workDir: workspace.workDir, sizeMiB: options.sizeMiB, sandbox: workspace.sandbox, run})
    if (options.format === 'qcow2') {
      options.progress('converting to qcow2')
      await qemuImgConvert(raw, partial, run)
    }
    await rename(partial, output)
    return {output, format: options.format, commit, sizeMiB, fileBytes: (await stat(output)).blocks * 512}
  } catch (error) {
    await rm(partial, {force: true})
    throw workspace.interrupted(error)
  } finally {
    await workspace.dispose()
  }
}
