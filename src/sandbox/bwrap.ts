import {lstat, readlink} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../errors.js'
import {isWithin} from '../fs.js'
import {run, type CacheGrant, type RunOptions, type RunResult} from '../tools/exec.js'
import {BINFMT_MISC} from './binfmt.js'
import type {BuildNamespace} from './namespace.js'

/** A PATH that finds the tree's own tools first; usrmerge makes /bin and /sbin links. */
export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
/** Processes a sandbox may have at once: builds need a few hundred; a fork bomb stops here. */
export const SANDBOX_PROCESSES = 1024

/**
 * Where the sandbox finds what it works on: the parts of the cache directory
 * a job is granted (its work dir, a cached tree, the staging repo), each at
 * its path below here, whatever host path it has (the build namespace's root
 * may not be able to reach the host path itself, under root's 0700 home,
 * say). Nothing else of the cache is there: no other build's tree, no
 * record of a cached tree's digest, no log, no lock.
 */
export const SANDBOX_CACHE = '/run/apt-ostree/cache'

export interface SandboxOptions extends RunOptions {
  /** Host paths bound read-only: `host path -> path inside`. */
  readOnly?: Array<[string, string]>
  /** Environment inside, which starts empty but for PATH, LANG and HOME. */
  setenv?: Record<string, string>
  /**
   * The host's binfmt_misc registrations, read-only, at
   * /proc/sys/fs/binfmt_misc of the job's own /proc: mmdebstrap looks there
   * for qemu-user's entry with the F flag (the kernel holds the interpreter
   * open), without which it would copy qemu into the tree.
   */
  hostBinfmt?: boolean
}

/** Where a job with hostBinfmt finds the host's binfmt_misc until it binds it into its own /proc. */
const HOST_BINFMT = '/run/host-binfmt_misc'

/** For tree code: binds into the tree (from paths inside the sandbox to paths in the tree) besides the sandbox's own options. */
export interface TreeSandboxOptions extends SandboxOptions {
  /** Read-write binds: a sysroot, an output directory. */
  treeBinds?: Array<[string, string]>
  /** Read-only binds: a script, a repo. */
  treeReadOnly?: Array<[string, string]>
  /** Directories of the tree replaced by an empty tmpfs (/var for the target's ostree). */
  treeTmpfs?: string[]
}

/**
 * Where everything a treefile or a package brings runs, and every tool step
 * that must see the tree's owners: the build namespace's root, which holds
 * no capability over the host; the host's system directories read-only
 * (only the job's own directories writable), no network, its own /tmp, /run, /proc and
 * process ids, the basic device nodes, at most SANDBOX_PROCESSES processes.
 */
export interface Sandbox {
  /** Where a host path under the cache directory is inside the sandbox. */
  inside(hostPath: string): string
  /** A program of the host, in that view of the host. */
  run(command: string[], options?: SandboxOptions): Promise<RunResult>
  /** Code of the tree: COMMAND with ROOT as `/`, inside the same sandbox. */
  runInTree(root: string, command: string[], options?: TreeSandboxOptions): Promise<RunResult>
}

/**
 * The host directories a job sees, read-only: the system's programs,
 * libraries and configuration, as a chroot needs them. Not the rest of the
 * host (homes, /srv, /opt, /var, a checkout, other caches): what a
 * package's maintainer script reads through /proc/1/root is the system, no
 * user's data.
 */
const SYSTEM_DIRECTORIES = ['usr', 'etc', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']

let systemView: Promise<string[]> | undefined

/** bwrap arguments for the system directories: binds for directories, the same links for usrmerge's links. */
function systemDirectoryArgs(): Promise<string[]> {
  systemView ??= Promise.all(SYSTEM_DIRECTORIES.map(async (name) => {
    const info = await lstat(`/${name}`).catch(() => undefined)
    if (info?.isSymbolicLink()) return ['--symlink', await readlink(`/${name}`), `/${name}`]
    return info?.isDirectory() ? ['--ro-bind', `/${name}`, `/${name}`] : []
  })).then((args) => args.flat())
  return systemView
}

function environment(options: SandboxOptions): Record<string, string> {
  return {PATH: SANDBOX_PATH, LANG: 'C.UTF-8', HOME: '/root', ...options.setenv}
}

/**
 * What both bwraps isolate besides mounts: IPC, host name, cgroups, the
 * terminal (a new session: no TIOCSTI into the caller's), the environment;
 * they die with their parent and start in `/`, not the caller's directory,
 * which they do not have.
 */
function isolation(options: SandboxOptions): string[] {
  return [
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--die-with-parent',
    '--new-session',
    '--clearenv',
    ...Object.entries(environment(options)).flatMap(([key, value]) => ['--setenv', key, value]),
    '--chdir', '/',
  ]
}

/**
 * bwrap with ROOT as `/` for tree code, run from inside the sandbox (as the
 * build namespace's root, the host's bwrap, not the tree's): its own mount
 * and pid namespaces, a fresh /proc, /dev, /tmp and /run.
 */
function treeCommand(root: string, command: string[], options: TreeSandboxOptions): string[] {
  return [
    'bwrap',
    '--bind', root, '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--tmpfs', '/tmp',
    '--tmpfs', '/run',
    ...(options.treeTmpfs ?? []).flatMap((directory) => ['--tmpfs', directory]),
    ...(options.treeBinds ?? []).flatMap(([from, to]) => ['--bind', from, to]),
    ...(options.treeReadOnly ?? []).flatMap(([from, to]) => ['--ro-bind', from, to]),
    '--unshare-pid',
    ...isolation(options),
    '--',
    ...command,
  ]
}

/** The sandbox as seen from the host: each job enters the build namespace. */
export class HostSandbox implements Sandbox {
  constructor(
    private readonly namespace: BuildNamespace,
    private readonly cacheDir: string,
  ) {}

  inside(hostPath: string): string {
    if (!isWithin(this.cacheDir, hostPath)) throw new AptOstreeError(`internal: ${hostPath} is not in the cache directory ${this.cacheDir}`)
    return path.posix.join(SANDBOX_CACHE, path.relative(this.cacheDir, hostPath))
  }

  async run(command: string[], options: SandboxOptions = {}): Promise<RunResult> {
    const granted = this.grantArgs(options.grant ?? {})
    await this.checkGranted([...(options.grant?.write ?? []), ...(options.grant?.read ?? [])])
    const descriptors = this.namespace.openDescriptors()
    const fds = descriptors.setup === undefined ? [descriptors.run] : [descriptors.setup, descriptors.run]
    const [setupFd, runFd] = descriptors.setup === undefined ? [undefined, 3] : [3, 4]
    try {
      const args = [
        // Mounts are made here, in the setup namespace; the job cannot change them.
        ...await systemDirectoryArgs(),
        '--ro-bind', '/sys', '/sys',
        // The host's /proc is replaced by the job's own below (a fresh proc
        // needs a writable one to mount over, and keeps nested mounts possible).
        '--bind', '/proc', '/proc',
        '--dev', '/dev',
        '--perms', '1777', '--tmpfs', '/tmp',
        '--perms', '1777', '--tmpfs', '/var/tmp',
        '--perms', '0700', '--tmpfs', '/root',
        '--perms', '0755', '--tmpfs', '/run',
        ...granted,
        ...(options.readOnly ?? []).flatMap(([from, to]) => ['--ro-bind', from, to]),
        ...(options.hostBinfmt ? ['--ro-bind', BINFMT_MISC, HOST_BINFMT] : []),
        // The root itself (bwrap's tmpfs holding the mount points) read-only too.
        '--remount-ro', '/',
        '--unshare-net',
        ...isolation(options),
        ...(setupFd === undefined ? [] : ['--userns', String(setupFd)]),
        '--userns2', String(runFd),
        // The job's capabilities are the run namespace's root's, over nothing but its own namespaces.
        '--cap-add', 'ALL',
        '--',
        // Root of the run namespace (we enter it as root's unmapped uid).
        'setpriv', '--reuid=0', '--regid=0', '--clear-groups', '--',
        'prlimit', `--nproc=${SANDBOX_PROCESSES}`, '--',
        'unshare', '--pid', '--fork', '--mount', '--mount-proc', '--kill-child', '--',
        // The fresh /proc has an empty binfmt_misc: a bwrap that keeps the
        // whole view binds the host's over it.
        ...(options.hostBinfmt ? ['bwrap', '--dev-bind', '/', '/', '--ro-bind', HOST_BINFMT, BINFMT_MISC, '--'] : []),
        ...command,
      ]
      return await run('bwrap', args, {label: command[0], ...options, passFds: fds})
    } finally {
      descriptors.close()
    }
  }

  /**
   * ROOT, and the sources of its binds, are paths inside (under
   * SANDBOX_CACHE): the job is granted exactly those, and the tree's code
   * sees only them.
   */
  runInTree(root: string, command: string[], options: TreeSandboxOptions = {}): Promise<RunResult> {
    const host = (inside: string): string[] => (isWithin(SANDBOX_CACHE, inside) ? [path.join(this.cacheDir, path.posix.relative(SANDBOX_CACHE, inside))] : [])
    const grant = {
      write: [...host(root), ...(options.treeBinds ?? []).flatMap(([from]) => host(from)), ...(options.grant?.write ?? [])],
      read: [...(options.treeReadOnly ?? []).flatMap(([from]) => host(from)), ...(options.grant?.read ?? [])],
    }
    return this.run(treeCommand(root, command, options), {label: `${command[0]} in the tree`, ...options, grant})
  }

  /**
   * A grant is a path the tool made, never one a tree chose: every
   * component of it below the cache dir must be what it is, not a link
   * (bwrap would follow one to wherever it leads, on the host).
   */
  private async checkGranted(files: string[]): Promise<void> {
    for (const file of files) {
      const parts = path.relative(this.cacheDir, file).split(path.sep).filter(Boolean)
      for (let index = 1; index <= parts.length; index++) {
        const component = path.join(this.cacheDir, ...parts.slice(0, index))
        if ((await lstat(component).catch(() => undefined))?.isSymbolicLink()) throw new AptOstreeError(`${component}: is a symbolic link where the tool made a directory or file of its own; refused`)
      }
    }
  }

  /**
   * bwrap arguments binding each granted part of the cache dir at its path
   * inside, outer ones first so that a read-only part of a writable one
   * stays read-only; the directories on the way are made 0755 (bwrap makes
   * a bind's missing parents 0700, which the build namespace's root could
   * not enter), except inside a bind, where they are the host's own.
   */
  private grantArgs(grant: CacheGrant): string[] {
    const binds = [...(grant.write ?? []).map((file) => ({file, flag: '--bind'})), ...(grant.read ?? []).map((file) => ({file, flag: '--ro-bind'}))]
      .map(({file, flag}) => ({inside: this.inside(file), file, flag}))
      .sort((a, b) => a.inside.split('/').length - b.inside.split('/').length)
    // The tool and node are bound below it too (sandbox/worker.ts).
    const directories = new Set([path.posix.dirname(SANDBOX_CACHE)])
    const args: string[] = []
    for (const bind of binds) {
      for (let parent = path.posix.dirname(bind.inside); !directories.has(parent); parent = path.posix.dirname(parent)) {
        if (binds.some((other) => isWithin(other.inside, parent))) break
        directories.add(parent)
      }
    }
    for (const directory of [...directories].sort()) args.push('--perms', '0755', '--dir', directory)
    for (const bind of binds) args.push(bind.flag, bind.file, bind.inside)
    return args
  }
}

/** The sandbox as seen from a process already in it (the tree worker): jobs run as they are, paths are inside paths. */
export class InsideSandbox implements Sandbox {
  inside(insidePath: string): string {
    return insidePath
  }

  run(command: string[], options: SandboxOptions = {}): Promise<RunResult> {
    return run(command[0], command.slice(1), {label: command[0], ...options})
  }

  runInTree(root: string, command: string[], options: TreeSandboxOptions = {}): Promise<RunResult> {
    return run('bwrap', treeCommand(root, command, options).slice(1), {label: `${command[0]} in the tree`, ...options})
  }
}
