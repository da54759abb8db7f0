import {truncate, writeFile} from 'node:fs/promises'
import {run, type RunOptions} from '../tools/exec.js'

export const ROOT_LABEL = 'ostree-root'

/**
 * An ext4 image of the sysroot, made with `mkfs.ext4 -d` (no loop device, no
 * mount, hard links kept). Sized from the sysroot's usage with room to spare.
 */
export async function makeRootImage(sysroot: string, image: string, options: RunOptions): Promise<void> {
  const {stdout} = await run('du', ['-s', '--block-size=1M', sysroot], {label: 'du of the sysroot', ...options})
  const usedMiB = Number(stdout.split(/\s+/)[0])
  const sizeMiB = Math.max(1024, Math.ceil(usedMiB * 1.5) + 512)
  await writeFile(image, '')
  await truncate(image, sizeMiB * 1024 * 1024)
  await run('mkfs.ext4', ['-q', '-F', '-L', ROOT_LABEL, '-d', sysroot, image], {label: 'mkfs.ext4', ...options})
}
