import {secondsSince} from '../clock.js'
import {createWriteStream} from 'node:fs'
import {rename} from 'node:fs/promises'
import {StringDecoder} from 'node:string_decoder'
import {execa} from 'execa'
import {InterruptedError} from '../errors.js'
import {commandNotFound} from '../tools/table.js'
import {consoleText, isLoginPrompt, journalLine} from './console.js'
import {PendingJobs} from './jobs.js'
import {qemuCommand, type MachineSpec} from './qemu.js'

export interface BootOptions extends MachineSpec {
  /** The unit whose "Reached target" line means success. */
  target: string
  /**
   * A line of the tool's own unit ordered after the target (guest-report.ts):
   * the units systemd lists as failed then, or undefined for any other line.
   * Such a line also means the target was reached.
   */
  guestReport?: (line: string) => string[] | undefined
  timeoutSeconds: number
  consoleLog: string
  signal: AbortSignal
  onLine?: (line: string) => void
  /** Keep the machine running after the target until it powers off or reboots (QEMU exits on either). */
  untilExit?: boolean
}

export interface BootReport {
  reached: boolean
  seconds: number
  failedUnits: string[]
  /** Lines the journal logged at err level or worse, as the console showed them (`IDENT[PID]: message`). */
  errorLines: string[]
  composefs: boolean
  kernelCommandLine?: string
  /** Why the boot did not reach the target, when it did not. */
  failure?: string
  /**
   * The login prompt came but the target did not within STALL_MS. With the
   * tool's own unit reporting (guest-report.ts) a job really never finished;
   * a disk booted as it is has only systemd's status lines, and the console
   * can lose those around the serial getty's start. Either way one more boot
   * of the same disk is worth trying.
   */
  stalled?: boolean
}

/** How long to keep watching after the target for late failures. */
const SETTLE_MS = 5000
/** How long after the login prompt the target may still take before the boot counts as stalled. */
const STALL_MS = 90_000

/** The jobs a boot that never got there was still running, for its failure message. */
function waitingFor(jobs: PendingJobs): string {
  const pending = jobs.list()
  return pending.length === 0 ? '' : `; still running: ${pending.join(', ')}`
}

/**
 * Boot under QEMU, the console on the serial port, and watch it: success is
 * the target's "Reached target" line or the guest's report, and no failed
 * unit (the report's list, or the "[FAILED]" lines).
 */
export async function bootAndWatch(options: BootOptions): Promise<BootReport> {
  const log = createWriteStream(options.consoleLog)
  // A console log that cannot be written (full disk) must not crash the watch.
  log.on('error', () => undefined)
  const start = performance.now()
  const report: BootReport = {reached: false, seconds: 0, failedUnits: [], errorLines: [], composefs: false}
  const [emulator, ...args] = qemuCommand(options)
  const child = execa(
    emulator!,
    args,
    {reject: false, buffer: false, stdin: 'ignore', cancelSignal: options.signal, forceKillAfterDelay: 2000, timeout: options.timeoutSeconds * 1000},
  )
  let settle: NodeJS.Timeout | undefined
  let stall: NodeJS.Timeout | undefined
  let pending = ''
  // A character can be split between two chunks (systemd's "…" is three
  // bytes): decoded chunk by chunk, it would read as three U+FFFD.
  const decoder = new StringDecoder('utf8')
  const jobs = new PendingJobs()
  const stop = (): void => {
    child.kill('SIGKILL')
  }
  const watchForStall = (text: string): void => {
    if (report.reached || stall || !isLoginPrompt(text)) return
    stall = setTimeout(() => {
      report.stalled = true
      report.failure = `the login prompt came, but not "Reached target ${options.target}" within ${STALL_MS / 1000} s after it${waitingFor(jobs)}`
      stop()
    }, STALL_MS)
  }
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk)
    const lines = (pending + decoder.write(chunk)).split(/\r?\n/)
    pending = lines.pop() ?? ''
    for (const raw of lines) {
      const line = consoleText(raw)
      if (!line) continue
      options.onLine?.(line)
      jobs.line(line)
      if (/\[FAILED\]/.test(line)) report.failedUnits.push(line.replace(/^.*\[FAILED\]\s*/, ''))
      const logged = journalLine(line)
      if (logged) report.errorLines.push(logged)
      // ostree-prepare-root mounts the composefs erofs image: the kernel logs it.
      if (/erofs.*mounted with root inode/.test(line)) report.composefs = true
      const cmdline = /Kernel command line: (.*)$/.exec(line)
      if (cmdline && !report.kernelCommandLine) report.kernelCommandLine = cmdline[1]
      watchForStall(line)
      const guestFailed = options.guestReport?.(line)
      // systemd's list, not the "[FAILED]" lines seen so far: those may miss a unit, or name one restarted since.
      if (guestFailed) report.failedUnits = [...guestFailed]
      if (!report.reached && (line.includes(`Reached target ${options.target}`) || guestFailed)) {
        clearTimeout(stall)
        report.reached = true
        report.seconds = secondsSince(start)
        if (!options.untilExit) settle = setTimeout(stop, SETTLE_MS)
      }
      if (/Kernel panic|You are in emergency mode|Entering emergency mode/.test(line) && !report.failure) {
        report.failure = line
        stop()
      }
    }
    // The prompt ends without a newline: it waits in the unfinished line.
    watchForStall(consoleText(pending))
  })
  const result = await child
  clearTimeout(settle)
  clearTimeout(stall)
  log.end()
  if (options.signal.aborted) throw new InterruptedError(String(options.signal.reason ?? 'SIGINT'))
  if ((result as {code?: string}).code === 'ENOENT') throw commandNotFound(options.model.qemu, options.model.qemuPackage)
  if (!report.reached && !report.failure) {
    report.failure = result.timedOut
      ? `no "Reached target ${options.target}" within ${options.timeoutSeconds} s${waitingFor(jobs)}`
      : `qemu exited (${result.exitCode ?? result.signal}) before ${options.target}`
  }
  if (!report.reached) report.seconds = secondsSince(start)
  return report
}

/**
 * bootAndWatch, and when the boot stalled (see `BootReport.stalled`) and
 * RETRY.when agrees, the same disk once more: the stalled boot's console log
 * is kept beside the new one, and RETRY.reset clears what the caller gathered
 * from its lines.
 */
export async function bootRetryingStall(options: BootOptions, retry: {progress: (line: string) => void; when?: () => boolean; reset?: () => void}): Promise<BootReport> {
  const report = await bootAndWatch(options)
  if (!report.stalled || retry.when?.() === false) return report
  const stalledLog = options.consoleLog.replace(/\.log$/, '-stalled.log')
  await rename(options.consoleLog, stalledLog)
  retry.progress(`${report.failure} (console: ${stalledLog}): booting the same disk once more`)
  retry.reset?.()
  return bootAndWatch(options)
}
