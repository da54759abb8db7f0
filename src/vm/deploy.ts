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
  entry: BootEntry
}

export interface DeployInput {
  /** Host path of the repo holding the commit. */
  repo: string
  commit: string
  kargs: string[]
  stateroot?: string
}

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
  const targetOstree = (args: string[]): Promise<unknown> =>
    sandbox.runInTree(sandbox.inside(toolRoot), ['ostree', ...args], {
      label: `the target's ostree ${args[0] === 'admin' ? `admin ${args[1]}` : args[0]}`,
      ...run,
      treeBinds: [[sandbox.inside(sysroot), '/sysroot']],
      treeReadOnly: [[sandbox.inside(path.join(toolRoot, 'usr/etc')), '/etc'], [repo, '/srcrepo']],
      treeTmpfs: ['/var'],
      readOnly,
    })
  await targetOstree(['admin', 'init-fs', '--modern', '/sysroot'])
  // No bootloader integration: the entries are read by QEMU's direct boot or systemd-boot.
  await targetOstree(['config', '--repo=/sysroot/ostree/repo', 'set', 'sysroot.bootloader', 'none'])
  await targetOstree(['admin', 'os-init', '--sysroot=/sysroot', stateroot])
  await targetOstree(['pull-local', '--repo=/sysroot/ostree/repo', '/srcrepo', input.commit])
  await targetOstree(['admin', 'deploy', '--sysroot=/sysroot', `--os=${stateroot}`, ...input.kargs.map((karg) => `--karg=${karg}`), input.commit])
  const deployments = path.join(sysroot, 'ostree/deploy', stateroot, 'deploy')
  const [deployed] = (await readdir(deployments)).filter((name) => !name.endsWith('.origin'))
  return {sysroot, root: path.join(deployments, deployed), entry: await readBootEntry(sysroot)}
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
