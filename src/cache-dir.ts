import {chmod, mkdir, readdir, realpath, rm, stat} from 'node:fs/promises'
import path from 'node:path'
import {UsageError} from './errors.js'
import {nearestExisting, probeDirectory, whyUnwritable} from './fs.js'
import {LOG_MODE} from './tools/exec.js'

/** Command logs kept in CACHEDIR/logs: the newest, so a cache dir does not grow without bound. */
export const KEPT_LOGS = 50

/** File systems a cache dir cannot live on: the kernel's own. */
const VIRTUAL = ['/proc', '/sys', '/dev']

/**
 * The mode of the cache dir's parts no other user may reach: the logs
 * (they quote commands, paths, registries and what tools said), the cached
 * trees (they hold setuid files), the host's records.
 */
export const PRIVATE_DIRECTORY = 0o700

/**
 * Make DIRECTORY (and its parents), saying in the user's terms why it cannot
 * be made. With MODE, what is made has it from the start (no moment with a
 * wider one), and a DIRECTORY made before with another is given it.
 */
export async function makeDirectory(directory: string, what: string, mode?: number): Promise<void> {
  try {
    await mkdir(directory, {recursive: true, mode})
    if (mode !== undefined) await chmod(directory, mode)
    await probeDirectory(directory)
  } catch (error) {
    throw new UsageError(`${what} ${directory}: cannot use it (${whyUnwritable(error)})`)
  }
}

/**
 * Refuse a cache dir before making anything of it: white space splits
 * mmdebstrap's hook lines, and one on /proc, /sys or /dev (through a link
 * too) is no place for files; its nearest existing ancestor must be a
 * writable directory.
 */
export async function checkCacheDir(cacheDir: string): Promise<void> {
  if (/\s/.test(cacheDir)) throw new UsageError(`--cachedir ${cacheDir}: must not contain white space (mmdebstrap hooks split on it)`)
  const existing = await realpath(await nearestExisting(cacheDir))
  if (VIRTUAL.some((root) => existing === root || existing.startsWith(`${root}/`))) throw new UsageError(`--cachedir ${cacheDir}: is on a kernel file system (${VIRTUAL.join(', ')}); choose a directory on a disk`)
  await probeDirectory(existing).catch((error: unknown) => {
    throw new UsageError(`--cachedir ${cacheDir}: cannot use it (${whyUnwritable(error)})`)
  })
}

/**
 * The sandbox works in the cache dir as the build namespace's root
 * (ROOT_UID on the host): unless that owns it, only the dir's "other"
 * permissions apply.
 */
export async function checkSandboxEnters(cacheDir: string, rootUid: number): Promise<void> {
  const info = await stat(cacheDir)
  if (info.uid !== rootUid && (info.mode & 0o001) === 0) {
    throw new UsageError(`--cachedir ${cacheDir}: its mode ${(info.mode & 0o777).toString(8).padStart(4, '0')} keeps the sandbox out (it works there as an unprivileged id); chmod o+x it`)
  }
}

/**
 * A part of the cache dir only the invoking user reaches and no sandboxed
 * job is granted: the logs, the records of cached trees' digests, a
 * command's host directory. 0700; one an older version made wider is closed.
 */
export async function makePrivateDirectory(directory: string): Promise<string> {
  await makeDirectory(directory, 'cache dir', PRIVATE_DIRECTORY)
  return directory
}

/** Keep the newest KEPT_LOGS logs (and the current one); those an older version left readable to others are narrowed. */
export async function pruneLogs(directory: string, current: string): Promise<void> {
  const logs = await Promise.all(
    (await readdir(directory)).filter((name) => name.endsWith('.log')).map(async (name) => {
      const info = await stat(path.join(directory, name)).catch(() => undefined)
      return {file: path.join(directory, name), time: info?.mtimeMs ?? 0, mode: info?.mode ?? 0}
    }),
  )
  const old = logs.filter((log) => log.file !== current).sort((a, b) => b.time - a.time).slice(KEPT_LOGS - 1)
  for (const log of old) await rm(log.file, {force: true})
  for (const log of logs) if (!old.includes(log) && (log.mode & 0o077) !== 0) await chmod(log.file, LOG_MODE).catch(() => undefined)
}
