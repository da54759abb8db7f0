import {secondsSince} from '../clock.js'
import {rename} from 'node:fs/promises'
import {StringDecoder} from 'node:string_decoder'
import {execa} from 'execa'
import {InterruptedError} from '../errors.js'
import {openLog} from '../tools/exec.js'
import {commandNotFound} from '../tools/table.js'
import {consoleText, isLoginPrompt, journalLine} from './console.js'
import {PendingJobs} from './jobs.js'
import {qemuCommand, type Accelerator, type MachineSpec} from './qemu.js'

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
  /** What the boot ran under: a retry after KVM failed runs under software emulation. */
  accelerator: Accelerator
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
  /**
   * QEMU itself ended the boot before the target: killed by a signal (an
   * assertion in its KVM code aborts it) or a non-zero exit status. A guest
   * that panics or powers off makes QEMU exit 0.
   */
  qemuFailed?: boolean
}

/** How long to keep watching after the target for late failures. */
const SETTLE_MS = 5000
/** How long after the login prompt the target may still take before the boot counts as stalled. */
const STALL_MS = 90_000
/** How many of QEMU's last stderr lines a failure message quotes. */
const STDERR_LINES = 3

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
  // 0600, as the command log: what a guest prints is its owner's.
  const log = openLog(options.consoleLog, 'w')
  const start = performance.now()
  const report: BootReport = {accelerator: options.accelerator, reached: false, seconds: 0, failedUnits: [], errorLines: [], composefs: false}
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
  // Read, or QEMU blocks once the pipe is full; the tail says why it failed.
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4096)
  })
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
    if (result.timedOut) report.failure = `no "Reached target ${options.target}" within ${options.timeoutSeconds} s${waitingFor(jobs)}`
    else {
      const said = stderr.split('\n').map((line) => consoleText(line)).filter(Boolean).slice(-STDERR_LINES)
      report.failure = `qemu exited (${result.signal ?? result.exitCode}) before ${options.target}${said.length > 0 ? `: ${said.join('; ')}` : ''}`
      // The watcher's own kill comes only after it set the failure or reached the target: not here.
      report.qemuFailed = result.signal !== undefined || result.exitCode !== 0
    }
  }
  if (!report.reached) report.seconds = secondsSince(start)
  return report
}

/**
 * Whether a boot that did not get there is worth one more try of the same
 * disk, and how: a stalled one as it was (see `BootReport.stalled`); one
 * that QEMU's KVM ended under software emulation. /dev/kvm can open and a
 * short firmware run succeed (chooseAccelerator) while the guest's kernel
 * then makes QEMU abort (measured on a nested hypervisor: SIGABRT).
 */
export function retryOf(report: BootReport): {accelerator: Accelerator; logSuffix: string; how: string} | undefined {
  if (report.stalled) return {accelerator: report.accelerator, logSuffix: 'stalled', how: 'booting the same disk once more'}
  if (report.qemuFailed && report.accelerator === 'kvm') return {accelerator: 'tcg', logSuffix: 'kvm', how: 'booting the same disk again under software emulation'}
  return undefined
}

/**
 * bootAndWatch, and when retryOf says so and RETRY.when agrees, the same
 * disk once more: the first boot's console log is kept beside the new one,
 * and RETRY.reset clears what the caller gathered from its lines.
 */
export async function bootRetryingOnce(options: BootOptions, retry: {progress: (line: string) => void; when?: () => boolean; reset?: () => void}): Promise<BootReport> {
  const report = await bootAndWatch(options)
  const again = retryOf(report)
  if (!again || retry.when?.() === false) return report
  const firstLog = options.consoleLog.replace(/\.log$/, `-${again.logSuffix}.log`)
  await rename(options.consoleLog, firstLog)
  retry.progress(`${report.failure} (console: ${firstLog}): ${again.how}`)
  retry.reset?.()
  return bootAndWatch({...options, accelerator: again.accelerator})
}
