import {execa, type ResultPromise} from 'execa'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {stringify} from 'yaml'

/** Debian's distribution registry (package docker-registry). */
const REGISTRY_BIN = '/usr/bin/docker-registry'
const START_TIMEOUT_MS = 20_000

/** The one account of a `refuse: 'auth'` registry, for `--dest-creds USER:PASSWORD`. */
export const REGISTRY_CREDENTIALS = {username: 'apt-ostree', password: 'apt-ostree-test'} as const
// bcrypt (cost 4, the registry only reads bcrypt) of REGISTRY_CREDENTIALS.password.
const PASSWORD_BCRYPT = '$2b$04$sSoR2rUvljX0MVfzHTND2.Y543HTmkz2OibU3UTa6xO/u23QLyJhG'

export interface RegistryOptions {
  /**
   * Make the registry refuse pushes:
   * - 'readonly': storage maintenance read-only mode; pulls work, a push fails
   *   with `initiating layer upload ...: StatusCode: 405, Method not allowed`;
   * - 'auth': htpasswd basic auth; anything without REGISTRY_CREDENTIALS
   *   fails with `unauthorized: authentication required`.
   */
  refuse?: 'readonly' | 'auth'
}

export interface Registry {
  /** `127.0.0.1:PORT`, for `docker://HOST/name:tag` (plain http: pass --tls-verify=false). */
  host: string
  /** What the registry wrote to stderr so far (the tail), for failure messages. */
  log(): string
  /** Kill the registry and remove its storage; safe to call twice. */
  stop(): Promise<void>
}

/**
 * Start a private registry on a port the kernel picks on 127.0.0.1, with its
 * storage in a temp dir; resolves once `GET /v2/` answers.
 */
export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-registry-'))
  const config: Record<string, unknown> = {
    version: '0.1',
    // Info level: the "listening on ADDR" line tells the port; no access log.
    log: {level: 'info', accesslog: {disabled: true}},
    storage: {
      filesystem: {rootdirectory: path.join(dir, 'data')},
      delete: {enabled: true},
      ...(options.refuse === 'readonly' ? {maintenance: {readonly: {enabled: true}}} : {}),
    },
    http: {addr: '127.0.0.1:0', secret: randomBytes(16).toString('hex')},
  }
  if (options.refuse === 'auth') {
    writeFileSync(path.join(dir, 'htpasswd'), `${REGISTRY_CREDENTIALS.username}:${PASSWORD_BCRYPT}\n`)
    config.auth = {htpasswd: {realm: 'apt-ostree-test', path: path.join(dir, 'htpasswd')}}
  }
  const configPath = path.join(dir, 'config.yml')
  writeFileSync(configPath, stringify(config))

  // REGISTRY_* variables would override the config file: leave them out.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('REGISTRY_'))) as Record<string, string>
  let child: ResultPromise
  try {
    child = execa(REGISTRY_BIN, ['serve', configPath], {env, extendEnv: false, stdin: 'ignore', stdout: 'ignore', buffer: false, reject: false})
  } catch (error) {
    rmSync(dir, {recursive: true, force: true})
    throw error
  }
  let log = ''
  let exited = false
  const onExit = (): void => void child.kill('SIGKILL')
  process.once('exit', onExit)
  const finished = child.then((result) => {
    exited = true
    return result
  })

  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    process.removeListener('exit', onExit)
    if (!exited) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await finished
      clearTimeout(timer)
    }
    rmSync(dir, {recursive: true, force: true})
  }

  try {
    const host = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`docker-registry did not start in ${START_TIMEOUT_MS} ms:\n${log}`)), START_TIMEOUT_MS)
      child.stderr!.setEncoding('utf8')
      child.stderr!.on('data', (chunk: string) => {
        log = (log + chunk).slice(-64 * 1024)
        const match = /listening on (127\.0\.0\.1:\d+)/.exec(log)
        if (match) {
          clearTimeout(timer)
          resolve(match[1])
        }
      })
      void finished.then((result) => {
        clearTimeout(timer)
        reject(new Error(`docker-registry exited before listening: ${result.shortMessage ?? `exit code ${result.exitCode}`}\n${log}`))
      })
    })
    await waitForV2(host, () => log)
    return {host, log: () => log, stop}
  } catch (error) {
    await stop()
    throw error
  }
}

/** Poll `GET /v2/` until the registry answers (200, or 401 behind auth). */
async function waitForV2(host: string, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://${host}/v2/`, {signal: AbortSignal.timeout(2_000)})
      await response.arrayBuffer()
      if (response.status === 200 || response.status === 401) return
      last = new Error(`GET /v2/: HTTP ${response.status}`)
    } catch (error) {
      last = error
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`docker-registry at ${host} did not answer GET /v2/: ${String(last)}\n${log()}`)
}
