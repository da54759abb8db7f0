import {rm, truncate, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../errors.js'
import type {BootModel} from '../arch.js'
import type {Sandbox} from '../sandbox/bwrap.js'
import {copyConfined, openConfined} from '../sandbox/confined-open.js'
import {ddInto, mkfsExt4, mkfsVfat, sfdisk, vfatCopy, vfatMkdir} from '../tools/disk.js'
import type {RunOptions} from '../tools/exec.js'
import type {Workspace} from '../workspace.js'
import {makeGrubLoader} from './bootloader.js'

export const ROOT_LABEL = 'ostree-root'
/** The EFI system partition: only GRUB, with room for a shim and a second loader later. */
export const ESP_MIB = 64
/** The GPT and alignment before the first partition, and the backup GPT after the last. */
const GPT_MIB = 1

/** MiB the sysroot uses: counted in the sandbox, which can read all of it. */
async function usedMiB(directory: string, sandbox: Sandbox, options: RunOptions): Promise<number> {
  const {stdout} = await sandbox.run(['du', '-s', '--block-size=1M', sandbox.inside(directory)], {label: `du of ${path.basename(directory)}`, ...options, grant: {read: [directory]}})
  return Number(stdout.split(/\s+/)[0])
}

/** Room for ext4's own metadata and the first boot's writes. */
function minimumRootMiB(used: number): number {
  return Math.ceil(used * 1.15) + 128
}

/** A file system image made in the sandbox: its directory there, and its name in it. */
export interface SandboxImage {
  directory: string
  name: string
  sizeMiB: number
}

/** The host path of IMAGE, for a program that opens it (QEMU): checked to be a regular file in its directory, not a link. */
export async function imagePath(image: SandboxImage): Promise<string> {
  await (await openConfined(image.directory, image.name, 'disk image')).close()
  return path.join(image.directory, image.name)
}

/**
 * An ext4 image of the sysroot, made with `mkfs.ext4 -d` (no loop device, no
 * mount, hard links kept) in the sandbox, so the file system records the
 * owners the tree has: in a directory of its own, the only one the job may
 * write. Sized from the sysroot's usage with room to spare unless a size is
 * given.
 */
export async function makeRootImage(sysroot: string, workspace: Workspace, sizeMiB?: number): Promise<SandboxImage> {
  const {sandbox} = workspace
  const options = {log: workspace.log, signal: workspace.signal}
  const used = await usedMiB(sysroot, sandbox, options)
  const size = sizeMiB ?? Math.max(1024, Math.ceil(used * 1.5) + 512)
  if (size < minimumRootMiB(used)) throw new AptOstreeError(`the root file system needs at least ${minimumRootMiB(used)} MiB (the deployment uses ${used} MiB)`)
  const directory = await workspace.ownedDirectory(path.join(workspace.workDir, 'root-image'))
  const image = {directory, name: 'root.img', sizeMiB: size}
  await mkfsExt4(sandbox.inside(path.join(directory, image.name)), size, ROOT_LABEL, sandbox.inside(sysroot), {...options, runner: sandbox, grant: {write: [directory], read: [sysroot]}})
  return image
}

/**
 * The EFI system partition as an image in HOST (the host's own directory):
 * GRUB as the removable-media loader (EFI/BOOT/BOOTX64.EFI on amd64, found
 * by any UEFI firmware) and nothing else. The kernels, the BLS entries and
 * the menu stay on the root's /boot, where ostree rewrites them at each
 * deploy; the partition never changes. The target's grub-mkimage writes the
 * loader in a directory of its own, from which the host copies it, through
 * the confined resolver, into HOST.
 */
async function makeEsp(input: {tools: string; boot: BootModel; image: string; host: string; workspace: Workspace; run: RunOptions}): Promise<void> {
  const name = path.basename(input.boot.efiLoader)
  const output = await input.workspace.ownedDirectory(path.join(input.workspace.workDir, 'grub-output'))
  await makeGrubLoader({tools: input.tools, boot: input.boot, rootLabel: ROOT_LABEL, output: path.join(output, name), sandbox: input.workspace.sandbox, run: input.run})
  const loader = path.join(input.host, name)
  await copyConfined(output, name, loader, "the target's grub-mkimage output")
  await mkfsVfat(input.image, ESP_MIB * 1024, 'ESP', input.run)
  const directories = path.posix.dirname(input.boot.efiLoader).split('/').map((_, index, parts) => '/' + parts.slice(0, index + 1).join('/'))
  await vfatMkdir(input.image, directories, input.run)
  await vfatCopy(input.image, [loader], '/' + input.boot.efiLoader, input.run)
}

/** Place IMAGE (the sandbox's or the host's) into DISK at OFFSET MiB, read through one confined descriptor. */
async function placeImage(image: {directory: string; name: string}, disk: string, offsetMiB: number, run: RunOptions): Promise<void> {
  const handle = await openConfined(image.directory, image.name, 'file system image')
  try {
    await ddInto(handle, disk, offsetMiB, run)
  } finally {
    await handle.close()
  }
}

/**
 * A GPT disk a UEFI machine boots: the EFI system partition and the ext4
 * root holding the ostree sysroot (label ostree-root, which the kernel
 * command line names). SIZE MiB in all, or what the sysroot needs. The ESP
 * comes first: it is quick, and a target whose GRUB cannot make a loader
 * fails before the root is written.
 */
export async function makeUefiDisk(input: {sysroot: string; tools: string; boot: BootModel; disk: string; sizeMiB?: number; workspace: Workspace}): Promise<number> {
  const {workspace} = input
  const run = {log: workspace.log, signal: workspace.signal}
  const host = await workspace.hostWorkDirectory()
  const esp = path.join(host, 'esp.img')
  await makeEsp({tools: input.tools, boot: input.boot, image: esp, host, workspace, run})
  const root = await makeRootImage(input.sysroot, workspace, input.sizeMiB === undefined ? undefined : input.sizeMiB - ESP_MIB - 2 * GPT_MIB).catch((error: unknown) => {
    if (input.sizeMiB === undefined || !(error instanceof AptOstreeError)) throw error
    throw new AptOstreeError(`--size ${input.sizeMiB}M is too small: ${error.message}, plus ${ESP_MIB + 2 * GPT_MIB} MiB for the EFI partition and the partition table`)
  })
  const sizeMiB = GPT_MIB + ESP_MIB + root.sizeMiB + GPT_MIB
  await writeFile(input.disk, '')
  await truncate(input.disk, sizeMiB * 1024 * 1024)
  const sectors = (mib: number): number => mib * 2048
  await sfdisk(
    input.disk,
    [
      'label: gpt',
      `start=${sectors(GPT_MIB)}, size=${sectors(ESP_MIB)}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="esp"`,
      `start=${sectors(GPT_MIB + ESP_MIB)}, size=${sectors(root.sizeMiB)}, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="root"`,
      '',
    ].join('\n'),
    run,
  )
  await placeImage({directory: host, name: 'esp.img'}, input.disk, GPT_MIB, run)
  await placeImage(root, input.disk, GPT_MIB + ESP_MIB, run)
  await rm(esp)
  await workspace.removeTree(root.directory)
  return sizeMiB
}
