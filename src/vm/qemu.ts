import {createWriteStream} from 'node:fs'
import {execa} from 'execa'
import {AptOstreeError, InterruptedError} from '../errors.js'

export interface BootOptions {
  kernel: string
  initrd: string
  /** Kernel command line (the boot entry's options plus console settings). */
  append: string
  disk: string
  /** The unit whose "Reached target" line means success. */
  target: string
  timeoutSeconds: number
  consoleLog: string
  signal: AbortSignal
  onLine?: (line: string) => void
}

export interface BootReport {
  reached: boolean
  seconds: number
  failedUnits: string[]
  composefs: boolean
  kernelCommandLine?: string
  /** Why the boot did not reach the target, when it did not. */
  failure?: string
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g
/** How long to keep watching after the target for late failures. */
const SETTLE_MS = 5000

/**
 * Boot under QEMU with the kernel and initramfs given directly, the console
 * on the serial port, and watch it: success is the target's "Reached target"
 * line with no "[FAILED]" line. Software emulation (TCG): measured on these
 * machines, KVM guests die with an emulation failure and qemu then hangs.
 */
export async function bootAndWatch(options: BootOptions): Promise<BootReport> {
  const log = createWriteStream(options.consoleLog)
  // A console log that cannot be written (full disk) must not crash the watch.
  log.on('error', () => undefined)
  const start = performance.now()
  const report: BootReport = {reached: false, seconds: 0, failedUnits: [], composefs: false}
  const child = execa(
    'qemu-system-x86_64',
    [
      '-machine', 'q35,accel=tcg',
      '-cpu', 'max',
      '-m', '2048',
      '-smp', '2',
      '-display', 'none',
      '-monitor', 'none',
      '-no-reboot',
      '-serial', 'stdio',
      '-drive', `file=${options.disk},format=raw,if=virtio,file.locking=off`,
      '-kernel', options.kernel,
      '-initrd', options.initrd,
      '-append', `${options.append} console=ttyS0 systemd.show_status=1 panic=-1`,
    ],
    {reject: false, buffer: false, stdin: 'ignore', cancelSignal: options.signal, forceKillAfterDelay: 2000, timeout: options.timeoutSeconds * 1000},
  )
  let settle: NodeJS.Timeout | undefined
  let pending = ''
  const stop = (): void => {
    child.kill('SIGKILL')
  }
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk)
    const lines = (pending + chunk.toString('utf8')).split(/\r?\n/)
    pending = lines.pop() ?? ''
    for (const raw of lines) {
      const line = raw.replace(ANSI, '').replace(/\r/g, '').trim()
      if (!line) continue
      options.onLine?.(line)
      if (/\[FAILED\]/.test(line)) report.failedUnits.push(line.replace(/^.*\[FAILED\]\s*/, ''))
      // ostree-prepare-root mounts the composefs erofs image: the kernel logs it.
      if (/erofs.*mounted with root inode/.test(line)) report.composefs = true
      const cmdline = /Kernel command line: (.*)$/.exec(line)
      if (cmdline && !report.kernelCommandLine) report.kernelCommandLine = cmdline[1]
      if (!report.reached && line.includes(`Reached target ${options.target}`)) {
        report.reached = true
        report.seconds = Math.round((performance.now() - start) / 100) / 10
        settle = setTimeout(stop, SETTLE_MS)
      }
      if (/Kernel panic|You are in emergency mode|Entering emergency mode/.test(line) && !report.failure) {
        report.failure = line
        stop()
      }
    }
  })
  const result = await child
  clearTimeout(settle)
  log.end()
  if (options.signal.aborted) throw new InterruptedError(String(options.signal.reason ?? 'SIGINT'))
  if ((result as {code?: string}).code === 'ENOENT') throw new AptOstreeError('qemu-system-x86_64: command not found (apt-get install --no-install-recommends qemu-system-x86)')
  if (!report.reached && !report.failure) {
    report.failure = result.timedOut ? `no "Reached target ${options.target}" within ${options.timeoutSeconds} s` : `qemu exited (${result.exitCode ?? result.signal}) before ${options.target}`
  }
  if (!report.reached) report.seconds = Math.round((performance.now() - start) / 100) / 10
  return report
}
