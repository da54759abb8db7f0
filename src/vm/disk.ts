import {rm, truncate, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../errors.js'
import type {BootModel} from '../arch.js'
import type {Sandbox} from '../sandbox/bwrap.js'
import {ddInto, mkfsExt4, mkfsVfat, sfdisk, vfatCopy, vfatMkdir} from '../tools/disk.js'
import type {RunOptions} from '../tools/exec.js'
import {makeGrubLoader} from './bootloader.js'

export const ROOT_LABEL = 'ostree-root'
/** The EFI system partition: only GRUB, with room for a shim and a second loader later. */
export const ESP_MIB = 64
/** The GPT and alignment before the first partition, and the backup GPT after the last. */
const GPT_MIB = 1

/** MiB the sysroot uses: counted in the sandbox, which can read all of it. */
async function usedMiB(directory: string, sandbox: Sandbox, options: RunOptions): Promise<number> {
  const {stdout} = await sandbox.run(['du', '-s', '--block-size=1M', sandbox.inside(directory)], {label: `du of ${path.basename(directory)}`, ...options})
  return Number(stdout.split(/\s+/)[0])
}

/** Room for ext4's own metadata and the first boot's writes. */
function minimumRootMiB(used: number): number {
  return Math.ceil(used * 1.15) + 128
}

/**
 * An ext4 image of the sysroot, made with `mkfs.ext4 -d` (no loop device, no
 * mount, hard links kept) in the sandbox, so the file system records the
 * owners the tree has. Sized from the sysroot's usage with room to spare
 * unless a size is given.
 */
export async function makeRootImage(sysroot: string, image: string, sandbox: Sandbox, options: RunOptions, sizeMiB?: number): Promise<number> {
  const used = await usedMiB(sysroot, sandbox, options)
  const size = sizeMiB ?? Math.max(1024, Math.ceil(used * 1.5) + 512)
  if (size < minimumRootMiB(used)) throw new AptOstreeError(`the root file system needs at least ${minimumRootMiB(used)} MiB (the deployment uses ${used} MiB)`)
  await mkfsExt4(sandbox.inside(image), size, ROOT_LABEL, sandbox.inside(sysroot), {...options, runner: sandbox})
  return size
}

/**
 * The EFI system partition as an image: GRUB as the removable-media loader
 * (EFI/BOOT/BOOTX64.EFI on amd64, found by any UEFI firmware) and nothing
 * else. The kernels, the BLS entries and the menu stay on the root's /boot,
 * where ostree rewrites them at each deploy; the partition never changes.
 */
async function makeEsp(input: {tools: string; boot: BootModel; image: string; workDir: string; sandbox: Sandbox; run: RunOptions}): Promise<void> {
  const loader = path.join(input.workDir, path.basename(input.boot.efiLoader))
  await makeGrubLoader({tools: input.tools, boot: input.boot, rootLabel: ROOT_LABEL, output: loader, sandbox: input.sandbox, run: input.run})
  await mkfsVfat(input.image, ESP_MIB * 1024, 'ESP', input.run)
  const directories = path.posix.dirname(input.boot.efiLoader).split('/').map((_, index, parts) => '/' + parts.slice(0, index + 1).join('/'))
  await vfatMkdir(input.image, directories, input.run)
  await vfatCopy(input.image, [loader], '/' + input.boot.efiLoader, input.run)
}

/**
 * A GPT disk a UEFI machine boots: the EFI system partition and the ext4
 * root holding the ostree sysroot (label ostree-root, which the kernel
 * command line names). SIZE MiB in all, or what the sysroot needs.
 */
export async function makeUefiDisk(input: {sysroot: string; tools: string; boot: BootModel; disk: string; workDir: string; sizeMiB?: number; sandbox: Sandbox; run: RunOptions}): Promise<number> {
  const [esp, root] = [path.join(input.workDir, 'esp.img'), path.join(input.workDir, 'root.img')]
  const rootMiB = await makeRootImage(input.sysroot, root, input.sandbox, input.run, input.sizeMiB === undefined ? undefined : input.sizeMiB - ESP_MIB - 2 * GPT_MIB).catch((error: unknown) => {
    if (input.sizeMiB === undefined || !(error instanceof AptOstreeError)) throw error
    throw new AptOstreeError(`--size ${input.sizeMiB}M is too small: ${error.message}, plus ${ESP_MIB + 2 * GPT_MIB} MiB for the EFI partition and the partition table`)
  })
  await makeEsp({tools: input.tools, boot: input.boot, image: esp, workDir: input.workDir, sandbox: input.sandbox, run: input.run})
  const sizeMiB = GPT_MIB + ESP_MIB + rootMiB + GPT_MIB
  await writeFile(input.disk, '')
  await truncate(input.disk, sizeMiB * 1024 * 1024)
  const sectors = (mib: number): number => mib * 2048
  await sfdisk(
    input.disk,
    [
      'label: gpt',
      `start=${sectors(GPT_MIB)}, size=${sectors(ESP_MIB)}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="esp"`,
      `start=${sectors(GPT_MIB + ESP_MIB)}, size=${sectors(rootMiB)}, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="root"`,
      '',
    ].join('\n'),
    input.run,
  )
  await ddInto(esp, input.disk, GPT_MIB, input.run)
  await ddInto(root, input.disk, GPT_MIB + ESP_MIB, input.run)
  await rm(esp)
  await rm(root)
  return sizeMiB
}
