import {run, type CommandRunner, type RunOptions} from './exec.js'

// The programs that make disk images without loop devices or mounts:
// mkfs.vfat and mtools for the EFI system partition, sfdisk for the
// partition table, dd to place partition images, qemu-img to convert.

const MTOOLS_ENV = {MTOOLS_SKIP_CHECK: '1'}

/**
 * An ext4 file system image of SIZE MiB at IMAGE with DIRECTORY's content
 * (mkfs.ext4 -d: no loop device, no mount), owners as the runner sees them.
 */
export async function mkfsExt4(image: string, sizeMiB: number, label: string, directory: string, options: RunOptions & {runner: CommandRunner}): Promise<void> {
  await options.runner.run(['truncate', '-s', `${sizeMiB}M`, image], {label: 'truncate', ...options})
  await options.runner.run(['mkfs.ext4', '-q', '-F', '-L', label, '-d', directory, image], {label: 'mkfs.ext4', ...options})
}

/** A FAT32 file system image of SIZE KiB. */
export async function mkfsVfat(image: string, sizeKiB: number, label: string, options: RunOptions): Promise<void> {
  await run('mkfs.vfat', ['-C', '-F', '32', '-n', label, image, String(sizeKiB)], {label: 'mkfs.vfat', ...options})
}

/** Directories in a FAT image (mmd), parents first. */
export async function vfatMkdir(image: string, directories: string[], options: RunOptions): Promise<void> {
  await run('mmd', ['-i', image, ...directories.map((directory) => `::${directory}`)], {label: 'mmd', env: MTOOLS_ENV, ...options})
}

/** Copy files (recursively for directories) into a FAT image directory (mcopy). */
export async function vfatCopy(image: string, sources: string[], directory: string, options: RunOptions): Promise<void> {
  await run('mcopy', ['-s', '-p', '-i', image, ...sources, `::${directory}`], {label: 'mcopy', env: MTOOLS_ENV, ...options})
}

/** Write a partition table from an sfdisk script. */
export async function sfdisk(disk: string, script: string, options: RunOptions): Promise<void> {
  await run('sfdisk', ['--quiet', disk], {label: 'sfdisk', input: script, ...options})
}

/** Copy the open IMAGE (a descriptor, which dd gets as its fd 3) into DISK at OFFSET MiB, keeping holes (dd conv=sparse). */
export async function ddInto(image: {fd: number}, disk: string, offsetMiB: number, options: RunOptions): Promise<void> {
  await run('dd', ['if=/dev/fd/3', `of=${disk}`, 'bs=1M', `seek=${offsetMiB}`, 'conv=notrunc,sparse', 'status=none'], {label: 'dd', ...options, passFds: [image.fd]})
}

/** A raw disk as qcow2 (compressed clusters left out: qemu boots it faster). */
export async function qemuImgConvert(raw: string, qcow2: string, options: RunOptions): Promise<void> {
  await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2], {label: 'qemu-img convert', ...options})
}
