import {writeFile} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../errors.js'
import {openConfinedIfPresent} from '../sandbox/confined-open.js'
import type {BootModel} from '../arch.js'
import type {Sandbox} from '../sandbox/bwrap.js'
import type {RunOptions} from '../tools/exec.js'

/**
 * The modules GRUB needs to find the root by label on a GPT disk, read its
 * ext4 /boot, turn ostree's syslinux menu into its own and start a kernel.
 */
const GRUB_MODULES = ['part_gpt', 'fat', 'ext2', 'search', 'search_label', 'normal', 'syslinuxcfg', 'linux', 'echo', 'test', 'gzio', 'all_video']

/**
 * GRUB's built-in configuration: the root file system by label, then the
 * menu ostree wrote at its last deploy. GRUB turns a syslinux menu with a
 * DEFAULT and no PROMPT into the commands that load that entry (ostree's
 * default deployment: after an upgrade the new one, after `ostree admin
 * set-default 1` the old one), and `boot` starts it. Should any of it fail,
 * GRUB's prompt is on the console.
 */
export function grubConfig(rootLabel: string): string {
  return [`search --no-floppy --label --set=root ${rootLabel}`, 'syslinux_source /boot/syslinux/syslinux.cfg', 'boot', ''].join('\n')
}

/**
 * The EFI loader of a disk: GRUB built by the target's own grub-mkimage
 * from the target's modules (the treefile's grub-efi-*-bin), run in the
 * sandbox with TOOLS (the deployment's /usr) as its root, so the loader is
 * the distribution's and changes with it. OUTPUT's directory (in the cache
 * dir) is the job's own and the only one it writes: whatever the target's
 * program leaves there is read back through the confined resolver.
 */
export async function makeGrubLoader(input: {tools: string; boot: BootModel; rootLabel: string; output: string; sandbox: Sandbox; run: RunOptions}): Promise<void> {
  const {sandbox, boot} = input
  const modules = `/usr/lib/grub/${boot.grubTarget}`
  const present = async (file: string): Promise<boolean> => {
    const handle = await openConfinedIfPresent(input.tools, file, "the target's GRUB").catch(() => undefined)
    await handle?.close()
    return handle !== undefined
  }
  if (!(await present(`${modules.slice(1)}/syslinuxcfg.mod`)) || !(await present('usr/bin/grub-mkimage'))) {
    throw new AptOstreeError(`the tree has no GRUB for ${boot.grubTarget} (${modules}): add the package ${boot.grubPackage} to the treefile, which disks boot through`)
  }
  const directory = path.dirname(input.output)
  const config = path.join(directory, 'grub-early.cfg')
  await writeFile(config, grubConfig(input.rootLabel))
  await sandbox.runInTree(
    sandbox.inside(input.tools),
    ['grub-mkimage', '--format', boot.grubTarget, '--directory', modules, '--prefix', '/EFI/BOOT', '--config', '/out/grub-early.cfg', '--output', `/out/${path.basename(input.output)}`, ...GRUB_MODULES],
    {label: "the target's grub-mkimage", ...input.run, treeBinds: [[sandbox.inside(directory), '/out']], treeTmpfs: ['/var']},
  )
}
