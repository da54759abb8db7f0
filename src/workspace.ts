import {mkdir, open, readFile, rm} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError, InterruptedError} from './errors.js'
import {CommandLog} from './tools/exec.js'

/** What a running job gets besides its inputs: the command log, the abort signal, and where to say how it goes. */
export interface JobContext {
  log: CommandLog
  signal: AbortSignal
  /** A live sub-line for the progress display. */
  progress: (line: string) => void
  /** Something the user should know that does not stop the job. */
  warn: (message: string) => void
}

/** A lock held by this process; released on every exit path. */
export class Lock {
  private constructor(private readonly file: string) {}

  /**
   * Take the lock or fail clearly: two composes on one repo or cache would
   * corrupt each other. A lock left by a dead process is taken over.
   */
  static async acquire(file: string, what: string): Promise<Lock> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(file, 'wx')
        await handle.writeFile(`${process.pid}\n`)
        await handle.close()
        return new Lock(file)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim())
        if (pid && isAlive(pid)) throw new AptOstreeError(`${what} is in use by another compose (pid ${pid}); wait for it to finish (lock: ${file})`)
        await rm(file, {force: true})
      }
    }
    throw new AptOstreeError(`could not lock ${what} (${file})`)
  }

  async release(): Promise<void> {
    await rm(this.file, {force: true})
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The private work dir of one compose (CACHEDIR/work/PID), its command log
 * (kept under CACHEDIR/logs so its path stays valid after a failure), and
 * the abort signal SIGINT and SIGTERM trip.
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
  ) {
    this.signal = this.controller.signal
    process.on('SIGINT', this.onSignal)
    process.on('SIGTERM', this.onSignal)
  }

  static async open(cacheDir: string, purpose: string): Promise<Workspace> {
    if (/\s/.test(cacheDir)) throw new AptOstreeError(`the cache dir ${cacheDir} must not contain white space (mmdebstrap hooks split on it)`)
    const workDir = path.join(cacheDir, 'work', String(process.pid))
    await rm(workDir, {recursive: true, force: true})
    await mkdir(workDir, {recursive: true})
    await mkdir(path.join(cacheDir, 'logs'), {recursive: true})
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    const log = new CommandLog(path.join(cacheDir, 'logs', `${purpose}-${stamp}-${process.pid}.log`))
    return new Workspace(cacheDir, workDir, log)
  }

  /**
   * What a failure means once a signal arrived: whatever a child or fetch
   * threw on the way down, the user asked to stop.
   */
  interrupted(error: unknown): unknown {
    return this.signal.aborted && !(error instanceof InterruptedError) ? new InterruptedError(String(this.signal.reason)) : error
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
    for (const cleanup of this.cleanups.reverse()) await cleanup().catch(() => undefined)
    await rm(this.workDir, {recursive: true, force: true})
    await this.log.close()
    process.off('SIGINT', this.onSignal)
    process.off('SIGTERM', this.onSignal)
  }
}
