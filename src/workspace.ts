import {chown, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {InterruptedError} from './errors.js'
import {HostSandbox} from './sandbox/bwrap.js'
import {BuildNamespace} from './sandbox/namespace.js'
import {buildIdMap} from './sandbox/idmap.js'
import {CommandLog, type CacheGrant} from './tools/exec.js'
import {isWithin, makeOwnedDirectory} from './fs.js'
import {checkCacheDir, checkSandboxEnters, makeDirectory, makePrivateDirectory, PRIVATE_DIRECTORY, pruneLogs} from './cache-dir.js'

/** What a running job gets besides its inputs: the command log, the abort signal, and where to say how it goes. */
export interface JobContext {
  log: CommandLog
  signal: AbortSignal
  /** A live sub-line for the progress display. */
  progress: (line: string) => void
  /** Something the user should know that does not stop the job. */
  warn: (message: string) => void
}

/** Where a repo outside the cache is bound for a job in the sandbox that reads it. */
const SOURCE_REPO = '/run/apt-ostree/source'

/** The start time of a process (field 22 of /proc/PID/stat), which tells it from a later one with its pid. */
async function startTimeOf(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
}

/**
 * The private work dir of one command (CACHEDIR/work/PID), its command log
 * (kept under CACHEDIR/logs so its path stays valid after a failure), the
 * abort signal SIGINT and SIGTERM trip, and the sandbox its jobs run in.
 * Work dirs of dead commands are removed when the next one opens.
 */
export class Workspace {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly cleanups: Array<() => Promise<void>> = []
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.controller.signal.aborted) process.exit(130)
    this.controller.abort(signal)
  }

  private constructor(
    readonly cacheDir: string,
    readonly workDir: string,
    readonly log: CommandLog,
    private readonly namespace: BuildNamespace,
    readonly sandbox: HostSandbox,
  ) {
    this.signal = this.controller.signal
    process.on('SIGINT', this.onSignal)
    process.on('SIGTERM', this.onSignal)
  }

  static async open(cacheDir: string, purpose: string): Promise<Workspace> {
    await checkCacheDir(cacheDir)
    // The ids first: a user who has none is told so before anything is made.
    const idMap = await buildIdMap()
    await makeDirectory(cacheDir, '--cachedir')
    await checkSandboxEnters(cacheDir, idMap.uids[0].outer)
    await makePrivateDirectory(path.join(cacheDir, 'logs'))
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    const log = new CommandLog(path.join(cacheDir, 'logs', `${purpose}-${stamp}-${process.pid}.log`))
    let namespace: BuildNamespace | undefined
    try {
      namespace = await BuildNamespace.open(idMap, {log})
      const sandbox = new HostSandbox(namespace, cacheDir)
      const workspace = new Workspace(cacheDir, path.join(cacheDir, 'work', String(process.pid)), log, namespace, sandbox)
      await workspace.sandboxDirectory('work')
      await workspace.removeStaleWorkDirs()
      await workspace.sandboxDirectory(path.join('work', String(process.pid)))
      await writeFile(path.join(workspace.workDir, '.owner'), `${process.pid} ${await startTimeOf(process.pid)}\n`)
      await pruneLogs(path.join(cacheDir, 'logs'), log.path)
      return workspace
    } catch (error) {
      namespace?.close()
      await log.close()
      throw error
    }
  }

  /**
   * CACHEDIR/RELATIVE, made if need be, owned by the build namespace's
   * root, which writes it from the sandbox, and closed to everyone else
   * (cached trees hold setuid files: su, mount; no other user may reach one,
   * to run it as its owner). One left by another id range (root's
   * /etc/subuid changed) is a cache no longer ours: removed.
   */
  async sandboxDirectory(relative: string): Promise<string> {
    const directory = path.join(this.cacheDir, relative)
    const {uid, gid} = this.namespace.root
    const info = await stat(directory).catch(() => undefined)
    if (info && info.uid !== uid) {
      await this.removeTree(directory)
    }
    await makeDirectory(directory, 'cache dir', PRIVATE_DIRECTORY)
    if (process.getuid?.() === 0) await chown(directory, uid, gid)
    return directory
  }

  /** The work dir's part for what only the host makes and reads (a disk's pieces, firmware variables, a kernel to boot). */
  hostWorkDirectory(): Promise<string> {
    return makePrivateDirectory(path.join(this.workDir, 'host'))
  }

  /** A directory the sandbox writes, made by the host: owned by the build namespace's root. */
  ownedDirectory(directory: string): Promise<string> {
    return makeOwnedDirectory(directory, this.sandboxOwner)
  }

  /** A repo as a job in the sandbox names it, and the bind or grant that makes it visible there, read-only. */
  repoInSandbox(repo: string): {path: string; readOnly: Array<[string, string]>; grant: CacheGrant} {
    if (isWithin(this.cacheDir, repo)) return {path: this.sandbox.inside(repo), readOnly: [], grant: {read: [repo]}}
    return {path: SOURCE_REPO, readOnly: [[repo, SOURCE_REPO]], grant: {}}
  }

  /** Work dirs whose command is gone (killed, say): a compose's is hundreds of MB. */
  private async removeStaleWorkDirs(): Promise<void> {
    const work = path.join(this.cacheDir, 'work')
    for (const name of await readdir(work)) {
      if (!/^\d+$/.test(name) || Number(name) === process.pid) continue
      const owner = await readFile(path.join(work, name, '.owner'), 'utf8').catch(() => undefined)
      const running = await startTimeOf(Number(name))
      // No .owner yet: a command that has just made its dir, unless its pid is gone.
      if (running !== undefined && (owner === undefined || owner.trim().split(' ')[1] === running)) continue
      await this.removeTree(path.join(work, name))
    }
  }

  /** Remove a directory the sandbox wrote, from inside it (its files belong to the build namespace). */
  async removeTree(directory: string): Promise<void> {
    await this.sandbox.run(['rm', '-rf', '--one-file-system', this.sandbox.inside(directory)], {log: this.log, label: `rm of ${path.basename(directory)}`, grant: {write: [path.dirname(directory)]}}).catch(() => undefined)
    await rm(directory, {recursive: true, force: true})
  }

  /**
   * What a failure means once a signal arrived: whatever a child or fetch
   * threw on the way down, the user asked to stop.
   */
  interrupted(error: unknown): unknown {
    return this.signal.aborted && !(error instanceof InterruptedError) ? new InterruptedError(String(this.signal.reason)) : error
  }

  /** For messages: where the build namespace's ids come from. */
  get idSource(): string {
    return this.namespace.idMap.source
  }

  /** Who must own what the host writes for the sandbox to read: the build namespace's root, when we are root. */
  get sandboxOwner(): {uid: number; gid: number} | undefined {
    return process.getuid?.() === 0 ? this.namespace.root : undefined
  }

  /** The context a job of this workspace runs in. */
  job(progress: (line: string) => void, warn: (message: string) => void): JobContext {
    return {log: this.log, signal: this.signal, progress, warn}
  }

  /** Run at dispose, last registered first. */
  onDispose(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup)
  }

  /** Remove the work dir and release locks: on success, failure and interruption alike. */
  async dispose(): Promise<void> {
    try {
      for (const cleanup of this.cleanups.reverse()) await cleanup().catch(() => undefined)
      // A work dir that cannot be removed is the next command's to remove (removeStaleWorkDirs); the error that brought us here is the one to report.
      await this.removeTree(this.workDir).catch((error: unknown) => this.log.write(`could not remove ${this.workDir}: ${String(error)}\n`))
    } finally {
      // The namespace holder is a child process: while it runs, this process cannot exit.
      this.namespace.close()
      await this.log.close()
      process.off('SIGINT', this.onSignal)
      process.off('SIGTERM', this.onSignal)
    }
  }
}
