import {mkdtemp, rm} from 'node:fs/promises'
import path from 'node:path'
import {emulationEnvironment, isForeign} from '../../arch.js'
import {installedPackages} from '../../dpkg/status.js'
import {coverablePrograms, DRACUT_STAND_INS, prepareNativePrograms, standInBinds} from '../../sandbox/native-programs.js'
import type {TreeFs} from '../../sandbox/tree-fs.js'
import {findKernelVersion} from '../../ostree/layout.js'
import type {StageContext, TreeStep} from '../step.js'

const COMPRESSION_ARGS = ['--compress', '--gzip', '--zstd', '--xz', '--lzma', '--lz4', '--lzo', '--bzip2', '--no-compress']

/**
 * Whether dracut would fall back to plain gzip, at -9: no zstd or pigz in the
 * tree and no compression chosen by initramfs-args or the tree's dracut
 * config. Measured on trixie, -6 builds the initramfs in 12 s instead of
 * 18 s for a 0.3% larger image, so only that default is replaced.
 */
export async function dracutPicksPlainGzip(tree: TreeFs, extraArgs: string[]): Promise<boolean> {
  if (extraArgs.some((arg) => COMPRESSION_ARGS.includes(arg.split('=')[0]))) return false
  for (const tool of ['/usr/bin/zstd', '/usr/bin/pigz']) if (await tree.exists(tool)) return false
  const configs = ['/etc/dracut.conf']
  for (const directory of ['/etc/dracut.conf.d', '/usr/lib/dracut/dracut.conf.d']) {
    for (const entry of await tree.list(directory)) configs.push(`${directory}/${entry}`)
  }
  for (const config of configs) {
    if (/^\s*compress\s*=/m.test((await tree.readText(config)) ?? '')) return false
  }
  return true
}

const DRACUT_CONF = `# Written by apt-ostree: an initramfs for any machine, with ostree-prepare-root.
hostonly=no
add_dracutmodules+=" ostree "
`

/**
 * The oldest dracut seen to build this initramfs in --sysroot mode: trixie's
 * 106 (byte for byte the initramfs it makes without) and forky's 112 (it
 * boots). bookworm's 059 fails there ("dracut module 'ostree' cannot be
 * found or installed"), so an older one runs as it is, every program emulated.
 */
const SYSROOT_DRACUT = 106

/** Whether the tree's dracut (dracut-core's version, in the dpkg database the ostreeify stage has not moved yet) is SYSROOT_DRACUT or later. */
export async function dracutBuildsInSysroot(tree: TreeFs): Promise<boolean> {
  const dracut = installedPackages((await tree.readText('/var/lib/dpkg/status')) ?? '').find((pkg) => pkg.name === 'dracut-core')
  const upstream = /^(?:\d+:)?(\d+)/.exec(dracut?.version ?? '')
  return upstream !== null && Number(upstream[1]) >= SYSROOT_DRACUT
}

/** Where dracut of a tree of another architecture reads that tree: the same tree, read-only, with its own programs. */
const DRACUT_SYSROOT = '/run/apt-ostree/sysroot'

/**
 * For a tree of another architecture, dracut runs with the host's bash, cp,
 * sed, grep and mkdir (DRACUT_STAND_INS, sandbox/native-programs.ts) bound
 * over the tree's. Under qemu-user each program start costs 20-70 ms, and
 * dracut of a generic arm64 initramfs starts about 2 300 of them (1 700 cp,
 * one for each file dracut-install cannot clone); bash interprets dracut's
 * scripts several times slower emulated. dracut runs with --sysroot, so what
 * it installs into the initramfs (the tree's own cp, sed and mkdir among it) comes
 * from the tree bound again, unchanged, at DRACUT_SYSROOT, while the
 * programs it runs come from `/`. In sysroot mode its work directory would
 * be the sysroot's /var/tmp, read-only: --tmpdir keeps it in the tree's, as
 * without. The minimal arm64 initramfs is the same bytes as with the tree's
 * own programs but for dracut's record of its arguments
 * (build-parameter.txt); its dracut took 95 s instead of 153 s with only cp
 * stood in for.
 */
async function nativeDracut(context: StageContext): Promise<{args: string[]; treeReadOnly: Array<[string, string]>; directory?: string}> {
  const programs = isForeign(context.resolved.arch) && (await dracutBuildsInSysroot(context.tree)) ? await coverablePrograms(context.tree, DRACUT_STAND_INS) : []
  if (programs.length === 0) return {args: [], treeReadOnly: []}
  const directory = await mkdtemp(path.join(context.scratch, 'native-programs-'))
  await prepareNativePrograms(directory, programs, {log: context.log, signal: context.signal})
  return {
    args: ['--sysroot', DRACUT_SYSROOT, '--tmpdir', '/var/tmp'],
    treeReadOnly: [[context.root, DRACUT_SYSROOT], ...standInBinds(directory, programs)],
    directory,
  }
}

/**
 * Kernel and initramfs in /usr/lib/modules/$kver, /boot left empty. The same
 * dracut and kernel-install settings are written into the tree, so a derived
 * image that installs another kernel gets the same kind of initramfs.
 */
export const kernel: TreeStep = {
  name: 'kernel and initramfs',
  async run(context: StageContext) {
    if (context.resolved.treefile.container) return
    const {tree} = context
    const kver = await findKernelVersion(tree)
    const modules = `/usr/lib/modules/${kver}`
    // trixie's kernel package ships the image only in /boot; forky's also in usr/lib/modules.
    if (!(await tree.stat(`${modules}/vmlinuz`))?.isFile()) await tree.copy(`/boot/vmlinuz-${kver}`, `${modules}/vmlinuz`, 0o644)
    await tree.chmod(`${modules}/vmlinuz`, 0o644)
    await tree.write('/usr/lib/dracut/dracut.conf.d/10-apt-ostree.conf', DRACUT_CONF)
    await tree.write('/usr/lib/kernel/install.conf', 'layout=ostree\n')
    const extra = context.resolved.treefile['initramfs-args'] ?? []
    const compression = (await dracutPicksPlainGzip(tree, extra)) ? ['--compress', 'gzip -n -6 --rsyncable'] : []
    const native = await nativeDracut(context)
    const args = ['dracut', ...native.args, '--force', '--reproducible', '--no-hostonly', '--add', 'ostree', ...compression, ...extra, '--kver', kver, `${modules}/initramfs.img`]
    context.progress(`dracut --kver ${kver}`)
    try {
      await context.sandbox.runInTree(context.root, args, {
        treeReadOnly: native.treeReadOnly,
        setenv: {SOURCE_DATE_EPOCH: String(context.sourceDateEpoch), DRACUT_NO_XATTR: '1', ...emulationEnvironment(context.resolved.arch)},
        log: context.log,
        signal: context.signal,
        label: 'dracut',
        onLine: context.progress,
      })
    } finally {
      if (native.directory) await rm(native.directory, {recursive: true, force: true})
    }
    // dracut writes 0600; the initramfs is public like the kernel.
    await tree.chmod(`${modules}/initramfs.img`, 0o644)
    for (const entry of await tree.list('/boot')) await tree.remove(`/boot/${entry}`)
    for (const link of ['vmlinuz', 'vmlinuz.old', 'initrd.img', 'initrd.img.old']) await tree.remove(`/${link}`)
  },
}
