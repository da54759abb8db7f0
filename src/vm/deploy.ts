// eslint-disable-next-line no-restricted-imports -- readlink reads the loader link as data, never follows it
import {readlink, symlink} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../errors.js'
import {confinedParts, listConfined, readConfined} from '../sandbox/confined-open.js'
import {quoted} from '../text.js'
import type {Workspace} from '../workspace.js'

/** The boot entry ostree wrote (BLS), paths relative to the sysroot's /boot. */
export interface BootEntry {
  title: string
  linux: string
  initrd: string
  options: string
}

export interface Deployment {
  /** Host paths: the sysroot, and the deployed tree in it (SYSROOT/ostree/deploy/STATEROOT/deploy/CHECKSUM.0). */
  sysroot: string
  root: string
  /** Host path of the target's /usr as a root for its tools (ostree, grub-mkimage) in the sandbox. */
  tools: string
  entry: BootEntry
}

export interface DeployInput {
  /** Host path of the repo holding the commit. */
  repo: string
  commit: string
  /**
   * The deployment's origin: `REMOTE:REF` (what `ostree admin upgrade` on
   * the machine follows), a local REF, or the bare commit.
   */
  origin?: string
  kargs: string[]
  stateroot?: string
}

/**
 * ostree's syslinux integration, set up before the first deploy as ostree's
 * own tests do: at every deploy (here, and `ostree admin upgrade` or
 * `set-default` on the machine) ostree writes its menu to
 * /boot/loader.N/syslinux.cfg beside the BLS entries and swaps the
 * /boot/loader link. GRUB on the EFI partition reads that menu
 * (vm/bootloader.ts), so the machine boots what ostree deployed last.
 */
const SYSLINUX_LAYOUT = 'mkdir -p /sysroot/boot/loader.0 /sysroot/boot/syslinux && : > /sysroot/boot/loader.0/syslinux.cfg && ln -s loader.0 /sysroot/boot/loader && ln -s ../loader/syslinux.cfg /sysroot/boot/syslinux/syslinux.cfg'

/**
 * Deploy a commit into a fresh sysroot with the target's own ostree, run
 * from the commit's /usr in the sandbox (it is the tree's code): the host's
 * ostree may be older than the target's and lack what it needs (composefs
 * images are written by the version that will read them). Everything in
 * the sysroot belongs to the build namespace, as it will to the machine's root.
 */
export async function deployCommit(input: DeployInput, workspace: Workspace): Promise<Deployment> {
  const {sandbox} = workspace
  const run = {log: workspace.log, signal: workspace.signal}
  const stateroot = input.stateroot ?? 'debian'
  const toolRoot = await workspace.ownedDirectory(path.join(workspace.workDir, 'target-root'))
  const sysroot = await workspace.ownedDirectory(path.join(workspace.workDir, 'sysroot'))
  const {path: repo, readOnly, grant} = workspace.repoInSandbox(input.repo)
  await sandbox.run(['ostree', `--repo=${repo}`, 'checkout', '--subpath=/usr', input.commit, sandbox.inside(path.join(toolRoot, 'usr'))], {label: "ostree checkout of the target's /usr", ...run, readOnly, grant: {...grant, write: [toolRoot]}})
  for (const [link, target] of [['bin', 'usr/bin'], ['sbin', 'usr/sbin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64']]) await symlink(target, path.join(toolRoot, link))
  const inTarget = (command: string[], label: string): Promise<unknown> =>
    sandbox.runInTree(sandbox.inside(toolRoot), command, {
      label,
      ...run,
      treeBinds: [[sandbox.inside(sysroot), '/sysroot']],
      treeReadOnly: [[sandbox.inside(path.join(toolRoot, 'usr/etc')), '/etc'], [repo, '/srcrepo']],
      treeTmpfs: ['/var'],
      readOnly,
    })
  const targetOstree = (args: string[]): Promise<unknown> => inTarget(['ostree', ...args], `the target's ostree ${args[0] === 'admin' ? `admin ${args[1]}` : args[0]}`)
  await targetOstree(['admin', 'init-fs', '--modern', '/sysroot'])
  await inTarget(['sh', '-c', SYSLINUX_LAYOUT], "the boot menu's layout")
  await targetOstree(['config', '--repo=/sysroot/ostree/repo', 'set', 'sysroot.bootloader', 'syslinux'])
  await targetOstree(['admin', 'os-init', '--sysroot=/sysroot', stateroot])
  await targetOstree(['pull-local', '--repo=/sysroot/ostree/repo', '/srcrepo', input.commit])
  // The commit under the origin's name, so the deployment records it (not the bare checksum) and upgrades follow it.
  const origin = input.origin ?? input.commit
  if (origin !== input.commit) await targetOstree(['refs', '--repo=/sysroot/ostree/repo', `--create=${origin}`, input.commit])
  await targetOstree(['admin', 'deploy', '--sysroot=/sysroot', `--os=${stateroot}`, ...input.kargs.map((karg) => `--karg=${karg}`), origin])
  const deployments = `ostree/deploy/${stateroot}/deploy`
  // CHECKSUM.SERIAL, as ostree names a deployment: checked as data, since the target's ostree wrote the directory.
  const deployed = (await listConfined(sysroot, deployments, 'deployments')).find((name) => /^[0-9a-f]{64}\.\d+$/.test(name))
  if (!deployed) throw new AptOstreeError(`the target's ostree left no deployment in ${path.join(sysroot, deployments)}`)
  return {sysroot, root: path.join(sysroot, deployments, deployed), tools: toolRoot, entry: await readBootEntry(sysroot)}
}

/** ostree's link /boot/loader -> loader.0 or loader.1, which it swaps at each deploy. */
const LOADER = /^loader\.[01]$/

/**
 * The newest BLS entry ostree wrote under boot/loader/entries. The target's
 * ostree wrote all of it: the loader link is read as data (never followed),
 * the directory and the entry are opened through the confined resolver, and
 * the kernel and initramfs paths are checked as paths below /boot.
 */
export async function readBootEntry(sysroot: string): Promise<BootEntry> {
  const boot = path.join(sysroot, 'boot')
  const loader = await readlink(path.join(boot, 'loader')).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EINVAL') return 'loader'
    throw new AptOstreeError(`ostree wrote no boot loader directory in ${boot}`)
  })
  if (loader !== 'loader' && !LOADER.test(loader)) throw new AptOstreeError(`${boot}/loader: leads to ${quoted(loader)}, not to loader.0 or loader.1; refused`)
  const directory = `${loader}/entries`
  const entries = (await listConfined(boot, directory, 'boot entries').catch(() => [] as string[])).filter((name) => name.endsWith('.conf'))
  if (entries.length === 0) throw new AptOstreeError(`ostree wrote no boot entry in ${path.join(boot, directory)}`)
  const text = (await readConfined(boot, `${directory}/${entries.at(-1)!}`, 'boot entry')).toString('utf8')
  const field = (key: string): string => new RegExp(`^${key}\\s+(.*)$`, 'm').exec(text)?.[1]?.trim() ?? ''
  const entry = {title: field('title'), linux: field('linux'), initrd: field('initrd'), options: field('options')}
  if (!entry.linux || !entry.initrd) throw new AptOstreeError(`boot entry ${quoted(entries.at(-1)!)} has no kernel or initramfs line`)
  for (const file of [entry.linux, entry.initrd]) confinedParts(bootRelative(file), 'the boot entry\'s kernel or initramfs')
  return entry
}

/** A boot entry's path (`/ostree/debian-.../vmlinuz-...`, as the boot loader reads the /boot file system) relative to /boot. */
export function bootRelative(file: string): string {
  return file.replace(/^\/+/, '')
}
