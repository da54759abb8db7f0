// eslint-disable-next-line no-restricted-imports -- stat of the output the user named, once it is written
import {mkdir, rename, rm, stat} from 'node:fs/promises'
import path from 'node:path'
import {architectureNamed, bootModel, type Architecture, type BootModel} from '../arch.js'
import {Workspace} from '../workspace.js'
import {assertWritable} from '../fs.js'
import {qemuImgConvert} from '../tools/disk.js'
import {deployCommit, type Deployment} from './deploy.js'
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
function diskKargs(model: BootModel): string[] {
  return [`root=LABEL=${ROOT_LABEL}`, 'rw', 'systemd.gpt_auto=0', 'console=tty0', `console=${model.console}`]
}

/** What buildDisk needs: the source and the disk's shape, as `compose disk-image` takes them. */
export interface DiskSpec {
  source: DeploySource
  /** Kernel arguments beyond the root, console and systemd.gpt_auto=0 ones. */
  kargs: string[]
  sizeMiB?: number
  /** The raw disk to write (beside the output, or in a host directory of the work dir: never where the sandbox writes). */
  raw: string
  progress: (line: string) => void
  /** Runs on the deployment before its file system is made: vm upgrade's check goes into its /etc. */
  beforeImage?: (deployment: Deployment) => Promise<void>
}

/**
 * A raw disk a UEFI machine boots: the commit (or image) deployed by the
 * target's own ostree with its origin (so `ostree admin upgrade` on the
 * machine finds the next commit), a GPT with an EFI system partition holding
 * the target's GRUB, and the ext4 root with the sysroot, whose /boot GRUB
 * reads: what ostree deploys there later boots, and so does a rollback.
 */
export async function buildDisk(spec: DiskSpec, workspace: Workspace): Promise<{commit: string; origin: string; arch: Architecture; sizeMiB: number}> {
  const {repo, commit, origin, architecture} = await resolveSource(spec.source, workspace, spec.progress)
  const arch = architectureNamed(architecture)
  const boot = bootModel(arch)
  spec.progress('deploying with the target\'s ostree')
  const deployment = await deployCommit({repo: repo.path, commit, origin, kargs: [...diskKargs(boot), ...spec.kargs]}, workspace)
  await spec.beforeImage?.(deployment)
  spec.progress('making the EFI and root partitions')
  const sizeMiB = await makeUefiDisk({sysroot: deployment.sysroot, tools: deployment.tools, boot, disk: spec.raw, sizeMiB: spec.sizeMiB, workspace})
  return {commit, origin, arch, sizeMiB}
}

/** `compose disk-image`: buildDisk, written beside OUTPUT and renamed at the end, so OUTPUT is the old file or the whole new one. */
export async function makeDiskImage(options: DiskImageOptions): Promise<DiskImageResult> {
  const output = path.resolve(options.output)
  await assertWritable(output, `disk image ${options.output}`)
  const workspace = await Workspace.open(path.resolve(options.cacheDir), 'disk-image')
  const partial = `${output}.apt-ostree-${process.pid}.partial`
  try {
    await mkdir(path.dirname(output), {recursive: true})
    const raw = options.format === 'raw' ? partial : path.join(await workspace.hostWorkDirectory(), 'disk.raw')
    const {commit, sizeMiB} = await buildDisk({source: options.source, kargs: options.kargs, sizeMiB: options.sizeMiB, raw, progress: options.progress}, workspace)
    if (options.format === 'qcow2') {
      options.progress('converting to qcow2')
      await qemuImgConvert(raw, partial, {log: workspace.log, signal: workspace.signal})
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
