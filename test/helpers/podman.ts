import {execa, execaSync} from 'execa'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

// A private podman for tests: its own containers.conf and containers-storage in
// a temp dir, so that podman, buildah (podman build) and
// `skopeo copy ... containers-storage:NAME` share one store and nothing lands
// in the host's /var/lib/containers or /etc/containers.

export interface PodmanResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface PodmanOptions {
  cwd?: string
  /** Extra variables, on top of podmanEnv(). */
  env?: Record<string, string>
  input?: string
  timeout?: number
}

interface State {
  /** Temp dirs to remove on reset. */
  dirs: string[]
  driver: 'overlay' | 'vfs'
  env: Record<string, string>
}

let state: State | undefined

/**
 * CONTAINERS_CONF and CONTAINERS_STORAGE_CONF of the private podman, to merge
 * into the environment of podman, skopeo or the CLI. Created on first use;
 * the same until resetPodman().
 */
export function podmanEnv(): Record<string, string> {
  return {...setup().env}
}

/** The storage driver the private store uses: overlay unless the temp dir cannot hold it. */
export function podmanStorageDriver(): 'overlay' | 'vfs' {
  return setup().driver
}

/** Run podman with podmanEnv(); never throws on a non-zero exit. */
export async function podman(args: string[], options: PodmanOptions = {}): Promise<PodmanResult> {
  const result = await execa('podman', args, {
    cwd: options.cwd,
    env: {...podmanEnv(), ...options.env},
    input: options.input,
    timeout: options.timeout,
    reject: false,
  })
  // No exit code: podman did not start (ENOENT, timeout); say why.
  return {exitCode: result.exitCode ?? 1, stdout: result.stdout, stderr: result.exitCode === undefined ? (result.message ?? result.stderr) : result.stderr}
}

/**
 * Remove every container and image of the private store and its temp dir.
 * The next podmanEnv() starts a new, empty store.
 */
export async function resetPodman(): Promise<void> {
  if (!state) return
  const {dirs} = state
  // `system reset` also removes networks: safe only because network_config_dir is private.
  const result = await podman(['system', 'reset', '--force'])
  state = undefined
  if (result.exitCode !== 0) throw new Error(`podman system reset failed (store left in ${dirs.join(', ')}):\n${result.stderr}`)
  for (const dir of dirs) rmSync(dir, {recursive: true, force: true})
}

function setup(): State {
  if (state) return state
  const dir = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-podman-'))
  const dirs = [dir]
  // podman refuses a --runroot over 50 characters, and conmon hands the
  // runroot to the exit command (`podman --runroot ... container cleanup`):
  // a longer one from storage.conf works until a container exits, then that
  // cleanup fails, `podman run` waits 20 s for the exit code and runc state
  // stays behind in /run/runc. A long TMPDIR gets a short dir in /tmp.
  let runroot = path.join(dir, 'runroot')
  if (runroot.length > 50) {
    runroot = mkdtempSync('/tmp/apt-ostree-run-')
    dirs.push(runroot)
  }
  mkdirSync(path.join(dir, 'cni'))
  const containersConf = path.join(dir, 'containers.conf')
  writeFileSync(
    containersConf,
    [
      '[containers]',
      // podman run raises RLIMIT_NOFILE to 1048576 by default: runc fails with
      // "error setting rlimit type 7: operation not permitted" when the host's
      // hard limit is lower (a container or CI runner).
      'default_ulimits = []',
      '',
      '[engine]',
      'runtime = "runc"',
      // No events file: `system reset` removes tmp_dir while podman still
      // writes events there, and failed once with "unlinkat
      // libpod-tmp/events: directory not empty".
      'events_logger = "none"',
      `tmp_dir = ${toml(path.join(dir, 'libpod-tmp'))}`,
      '',
      '[network]',
      `network_config_dir = ${toml(path.join(dir, 'cni'))}`,
      '',
    ].join('\n'),
  )
  const storageConf = path.join(dir, 'storage.conf')
  const env = {CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf}
  const write = (driver: State['driver']): void =>
    writeFileSync(
      storageConf,
      ['[storage]', `driver = "${driver}"`, `graphroot = ${toml(path.join(dir, `storage-${driver}`))}`, `runroot = ${toml(runroot)}`, ''].join('\n'),
    )
  // Kernel overlayfs needs a graphroot on ext4, xfs, btrfs, tmpfs...; on
  // overlayfs itself (a container's root) containers/storage refuses it
  // ("'overlay' is not supported over overlayfs"), then vfs (full copies).
  let driver: State['driver'] = 'overlay'
  write(driver)
  const probe = execaSync('podman', ['info', '--format', '{{.Store.GraphDriverName}}'], {env, reject: false})
  if (probe.exitCode === undefined) {
    for (const created of dirs) rmSync(created, {recursive: true, force: true})
    throw new Error(`${probe.shortMessage} (scripts/install-deps.sh installs podman)`)
  }
  if (probe.exitCode !== 0 || probe.stdout.trim() !== 'overlay') {
    driver = 'vfs'
    write(driver)
  }
  state = {dirs, driver, env}
  return state
}

/** A TOML basic string. */
function toml(value: string): string {
  return JSON.stringify(value)
}
