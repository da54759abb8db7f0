import {mkdir, readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../errors.js'
import {run, type RunOptions} from '../tools/exec.js'

/** The boot entry ostree wrote (BLS), paths relative to the sysroot's /boot. */
export interface BootEntry {
  title: string
  linux: string
  initrd: string
  options: string
}

export interface Deployment {
  sysroot: string
  /** The deployed tree: SYSROOT/ostree/deploy/STATEROOT/deploy/CHECKSUM.0. */
  root: string
  entry: BootEntry
}

export interface DeployInput {
  /** Repo holding the commit. */
  repo: string
  ref: string
  /** Scratch directory: the target's /usr is checked out here, the sysroot made here. */
  workDir: string
  kargs: string[]
  stateroot?: string
  run: RunOptions
}

/**
 * Deploy a commit into a fresh sysroot with the target's own ostree, run from
 * the commit's /usr in bubblewrap: the host's ostree may be older than the
 * target's and lack what it needs (composefs images are written by the
 * version that will read them).
 */
export async function deployCommit(input: DeployInput): Promise<Deployment> {
  const stateroot = input.stateroot ?? 'debian'
  const tools = path.join(input.workDir, 'target-usr')
  const sysroot = path.join(input.workDir, 'sysroot')
  await mkdir(sysroot, {recursive: true})
  await run('ostree', [`--repo=${input.repo}`, 'checkout', '--subpath=/usr', input.ref, tools], {label: 'ostree checkout of the target\'s /usr', ...input.run})
  const targetOstree = (args: string[]): Promise<unknown> =>
    run(
      'bwrap',
      [
        '--ro-bind', tools, '/usr',
        '--ro-bind', path.join(tools, 'etc'), '/etc',
        '--symlink', 'usr/bin', '/bin',
        '--symlink', 'usr/sbin', '/sbin',
        '--symlink', 'usr/lib', '/lib',
        '--symlink', 'usr/lib64', '/lib64',
        '--dev', '/dev',
        '--proc', '/proc',
        '--tmpfs', '/tmp',
        '--tmpfs', '/var',
        '--tmpfs', '/run',
        '--bind', sysroot, '/sysroot',
        '--ro-bind', path.resolve(input.repo), '/srcrepo',
        '--unshare-pid',
        '--die-with-parent',
        '--clearenv',
        '--setenv', 'PATH', '/usr/sbin:/usr/bin',
        '--setenv', 'LANG', 'C.UTF-8',
        'ostree', ...args,
      ],
      {label: `the target's ostree ${args[0] === 'admin' ? `admin ${args[1]}` : args[0]}`, ...input.run},
    )
  try {
    return await deployInto(sysroot, stateroot, input, targetOstree)
  } catch (error) {
    // A deploy that failed halfway may have left an immutable deployment dir: make it removable.
    await releaseSysroot(sysroot, input.run).catch(() => undefined)
    throw error
  }
}

async function deployInto(sysroot: string, stateroot: string, input: DeployInput, targetOstree: (args: string[]) => Promise<unknown>): Promise<Deployment> {
  await targetOstree(['admin', 'init-fs', '--modern', '/sysroot'])
  // No bootloader integration: the entries are read by QEMU's direct boot or systemd-boot.
  await targetOstree(['config', '--repo=/sysroot/ostree/repo', 'set', 'sysroot.bootloader', 'none'])
  await targetOstree(['admin', 'os-init', '--sysroot=/sysroot', stateroot])
  await targetOstree(['pull-local', '--repo=/sysroot/ostree/repo', '/srcrepo', input.ref])
  await targetOstree(['admin', 'deploy', '--sysroot=/sysroot', `--os=${stateroot}`, ...input.kargs.map((karg) => `--karg=${karg}`), input.ref])
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

/** ostree makes deployment roots immutable; lift that so the sysroot can be removed. */
export async function releaseSysroot(sysroot: string, options: RunOptions): Promise<void> {
  const deployRoot = path.join(sysroot, 'ostree/deploy')
  for (const stateroot of await readdir(deployRoot).catch(() => [] as string[])) {
    const deployments = path.join(deployRoot, stateroot, 'deploy')
    for (const deployment of await readdir(deployments).catch(() => [] as string[])) {
      if (!deployment.endsWith('.origin')) await run('chattr', ['-i', path.join(deployments, deployment)], {label: 'chattr -i', ...options})
    }
  }
}
