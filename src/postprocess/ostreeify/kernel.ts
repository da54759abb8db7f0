import {chmod, copyFile, readdir, rm} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../../errors.js'
import {pathExists} from '../../fs.js'
import {runInTree} from '../../sandbox/bwrap.js'
import {writeTreeFile} from '../../sandbox/rootfs-path.js'
import type {StageContext, TreeStep} from '../../compose/context.js'

/** The one kernel version in usr/lib/modules (bootc's lint allows exactly one). */
export async function findKernelVersion(root: string): Promise<string> {
  const modules = path.join(root, 'usr/lib/modules')
  const versions = await readdir(modules).catch(() => [] as string[])
  const withKernel: string[] = []
  for (const version of versions) {
    const hasImage = await pathExists(path.join(root, 'boot', `vmlinuz-${version}`))
    const hasModuleImage = await pathExists(path.join(modules, version, 'vmlinuz'))
    if (hasImage || hasModuleImage) withKernel.push(version)
  }
  if (withKernel.length === 0) throw new AptOstreeError('no kernel in the tree: no usr/lib/modules/$kver with a vmlinuz (add a linux-image package, or set "container: true")')
  if (withKernel.length > 1) throw new AptOstreeError(`more than one kernel in the tree (${withKernel.join(', ')}): an OSTree tree boots exactly one`)
  return withKernel[0]
}

const DRACUT_CONF = `# Written by apt-ostree: an initramfs for any machine, with ostree-prepare-root.
hostonly=no
add_dracutmodules+=" ostree "
`

/**
 * Kernel and initramfs in /usr/lib/modules/$kver, /boot left empty. The same
 * dracut and kernel-install settings are written into the tree, so a derived
 * image that installs another kernel gets the same kind of initramfs.
 */
export const kernel: TreeStep = {
  name: 'kernel and initramfs',
  async run(context: StageContext) {
    if (context.resolved.treefile.container) return
    const {root} = context
    const kver = await findKernelVersion(root)
    const moduleDir = path.join(root, 'usr/lib/modules', kver)
    const vmlinuz = path.join(moduleDir, 'vmlinuz')
    // trixie's kernel package ships the image only in /boot; forky's also in usr/lib/modules.
    if (!(await pathExists(vmlinuz))) await copyFile(path.join(root, 'boot', `vmlinuz-${kver}`), vmlinuz)
    await chmod(vmlinuz, 0o644)
    await writeTreeFile(root, '/usr/lib/dracut/dracut.conf.d/10-apt-ostree.conf', DRACUT_CONF)
    await writeTreeFile(root, '/usr/lib/kernel/install.conf', 'layout=ostree\n')
    const args = ['dracut', '--force', '--reproducible', '--no-hostonly', '--add', 'ostree', ...(context.resolved.treefile['initramfs-args'] ?? []), '--kver', kver, `/usr/lib/modules/${kver}/initramfs.img`]
    context.progress(`dracut --kver ${kver}`)
    await runInTree(root, args, {
      setenv: {SOURCE_DATE_EPOCH: String(context.sourceDateEpoch), DRACUT_NO_XATTR: '1'},
      log: context.log,
      signal: context.signal,
      label: 'dracut',
      onLine: context.progress,
    })
    // dracut writes 0600; the initramfs is public like the kernel.
    await chmod(path.join(moduleDir, 'initramfs.img'), 0o644)
    for (const entry of await readdir(path.join(root, 'boot'))) await rm(path.join(root, 'boot', entry), {recursive: true, force: true})
    for (const link of ['vmlinuz', 'vmlinuz.old', 'initrd.img', 'initrd.img.old']) await rm(path.join(root, link), {force: true})
  },
}
