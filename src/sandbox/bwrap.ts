import {run, type RunOptions, type RunResult} from '../tools/exec.js'

/** A PATH that finds the tree's own tools first; usrmerge makes /bin and /sbin links. */
const TREE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

export interface TreeSandboxOptions extends RunOptions {
  /** Extra environment inside the sandbox (the sandbox starts from an empty one). */
  setenv?: Record<string, string>
  /** Read-only binds `host path -> path inside`, applied after the fresh /tmp. */
  roBinds?: Array<[string, string]>
  /** Writable binds `host path -> path inside`. */
  binds?: Array<[string, string]>
}

/**
 * Run a command with a rootfs as `/`: fresh /proc, /dev and /tmp, every
 * namespace unshared (no network), an empty environment but for PATH, LANG
 * and what the caller sets. The process dies with us.
 */
export function runInTree(root: string, command: string[], options: TreeSandboxOptions = {}): Promise<RunResult> {
  const env = {PATH: TREE_PATH, LANG: 'C.UTF-8', HOME: '/root', ...options.setenv}
  const args = [
    '--bind', root, '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--tmpfs', '/tmp',
    '--tmpfs', '/run',
    ...(options.binds ?? []).flatMap(([from, to]) => ['--bind', from, to]),
    ...(options.roBinds ?? []).flatMap(([from, to]) => ['--ro-bind', from, to]),
    '--unshare-all',
    '--die-with-parent',
    '--new-session',
    '--clearenv',
    ...Object.entries(env).flatMap(([key, value]) => ['--setenv', key, value]),
    '--chdir', '/',
    '--',
    ...command,
  ]
  return run('bwrap', args, {label: `${command[0]} in the tree`, ...options})
}

/**
 * Run a host command with the whole host read-only and only `writable`
 * directories writable: how mmdebstrap runs, so a bug in it or in a
 * maintainer script cannot touch the host.
 */
export function runOnReadOnlyHost(command: string[], writable: string[], options: RunOptions & {setenv?: Record<string, string>} = {}): Promise<RunResult> {
  const args = [
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    // /tmp first: binds below it must come after or the tmpfs hides them.
    '--tmpfs', '/tmp',
    ...writable.flatMap((directory) => ['--bind', directory, directory]),
    '--unshare-pid',
    '--die-with-parent',
    ...Object.entries(options.setenv ?? {}).flatMap(([key, value]) => ['--setenv', key, value]),
    '--',
    ...command,
  ]
  return run('bwrap', args, {label: command[0], ...options})
}
