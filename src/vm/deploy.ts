import {readdir, readFile, symlink} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../errors.js'
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
  const {path: repo, readOnly} = workspace.repoInSandbox(input.repo)
  await sandbox.run(['ostree', `--repo=${repo}`, 'checkout', '--subpath=/usr', input.commit, sandbox.inside(path.join(toolRoot, 'usr'))], {label: "ostree checkout of the target's /usr", ...run, readOnly})
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
  const deployments = path.join(sysroot, 'ostree/deploy', stateroot, 'deploy')
  const [deployed] = (await readdir(deployments)).filter((name) => !name.endsWith('.origin'))
  return {sysroot, root: path.join(deployments, deployed), tools: toolRoot, entry: await readBootEntry(sysroot)}
}

/** The newest BLS entry ostree wrote under boot/loader/entries. */
export async function readBootEntry(sysroot: string): Promise<BootEntry> {
  const directory = path.join(sysroot, 'boot/loader/entries')
  const entries = (await readdir(directory).catch(() => [] as string[])).filter((name) => name.endsWith('.conf')).sort()
  if (entries.length === 0) throw new AptOstreeError(`ostree wrote no boot entry in ${directory}`)
  const text = await readFile(path.join(directory, entries.at(-1)!), 'utf8')
  const field = (key: string): string => new RegExp(`^${key}\\s+(.*)$`, 'm').exec(text)?.[1]?.trim() ?? ''
  const entry = {title: field('title'), linux: field('linux'), initrd: field('initrd'), options: field('options')}
  if (!entry.linux || !entry.initrd) throw new AptOstreeError(`boot entry ${entries.at(-1)} has no kernel or initramfs line`)
  return entry
}
