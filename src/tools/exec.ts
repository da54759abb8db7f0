import {createWriteStream, fchmodSync, fstatSync, openSync, type WriteStream} from 'node:fs'
import {once} from 'node:events'
import {execa, type Options} from 'execa'
import {InterruptedError, ToolError} from '../errors.js'
import {printable} from '../text.js'
import {commandNotFound} from './table.js'

/** A log's mode: logs quote commands, paths and what tools said, for their owner only. */
export const LOG_MODE = 0o600

/**
 * A log file opened for writing, made 0600 as it is created (no moment when
 * another user could open it); one an older version left readable is
 * narrowed. A log that is not a file (the worker's, /dev/stderr) is not
 * ours to chmod. Write errors are dropped: a log is a help, not a stage, and
 * a full disk must fail the stage, not crash the process here.
 */
export function openLog(file: string, flags: 'a' | 'w'): WriteStream {
  let fd: number
  try {
    fd = openSync(file, flags, LOG_MODE)
  } catch {
    // Not to be opened here (the worker's /dev/stderr is a socket: ENXIO): the stream fails on its own, and the error is dropped.
    return createWriteStream(file, {flags, mode: LOG_MODE}).on('error', () => undefined)
  }
  const info = fstatSync(fd)
  if (info.isFile() && (info.mode & 0o077) !== 0) fchmodSync(fd, LOG_MODE)
  const stream = createWriteStream(file, {fd})
  stream.on('error', () => undefined)
  return stream
}

/** TEXT with each of SECRETS written as `***`. */
export function concealed(text: string, secrets: readonly string[]): string {
  return secrets.reduce((shown, secret) => (secret ? shown.replaceAll(secret, '***') : shown), text)
}

/** Every external command's full output, appended to one log file per compose. */
export class CommandLog {
  private readonly stream: WriteStream
  private readonly secrets: string[] = []

  constructor(readonly path: string) {
    this.stream = openLog(path, 'a')
  }

  /** From now on, write each of SECRETS (a password a tool is given) as `***`, whatever line it turns up in. */
  conceal(secrets: readonly string[]): void {
    this.secrets.push(...secrets)
  }

  write(text: string): void {
    if (this.stream.destroyed) return
    const line = printable(concealed(text, this.secrets))
    this.stream.write(line.endsWith('\n') ? line : line + '\n')
  }

  async close(): Promise<void> {
    if (this.stream.closed) return
    this.stream.end()
    await once(this.stream, 'close')
  }
}

export interface RunOptions {
  /** What the command is, for messages ("dracut in the tree"); default: the command and its verb. */
  label?: string
  cwd?: string
  env?: Record<string, string | undefined>
  /** Replace the environment instead of extending it. */
  extendEnv?: boolean
  input?: string | Buffer
  log?: CommandLog
  /** Each line of stdout and stderr as it arrives (progress sub-lines). */
  onLine?: (line: string) => void
  signal?: AbortSignal
  /** Keep stdout in memory and return it (default true). */
  captureStdout?: boolean
  /** Stream stdout to this file descriptor or stream instead of capturing it. */
  stdout?: Options['stdout']
  /** Open file descriptors the child gets as its fds 3, 4, ... (bwrap's --userns). */
  passFds?: number[]
  /** For a runner that is a sandbox: host paths the command needs, bound read-only (`host path -> path inside`). */
  readOnly?: Array<[string, string]>
  /**
   * For a runner that is a sandbox: the parts of the cache dir the command
   * sees (host paths), each bound at its path inside; nothing else of the
   * cache dir is there.
   */
  grant?: CacheGrant
}

/** Host paths under the cache dir a sandboxed command may write, and those it may only read. */
export interface CacheGrant {
  write?: string[]
  read?: string[]
}

export interface RunResult {
  stdout: string
  stderr: string
}

/** Something that runs a command somewhere (the sandbox does): what a tool wrapper is given to run through. */
export interface CommandRunner {
  run(command: string[], options?: RunOptions): Promise<RunResult>
}

/**
 * Run an external command with an argument array (never a shell string).
 * Output goes line by line to the log and the progress callback; a failure
 * throws a ToolError naming the command, its exit status and its last
 * stderr lines; an abort throws InterruptedError after the child is killed.
 */
export async function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const {log, onLine, signal} = options
  log?.write(`[${new Date().toISOString()}] $ ${[command, ...args].map(quoteForLog).join(' ')}`)
  const stderrLines: string[] = []
  const child = execa(command, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: options.extendEnv ?? true,
    input: options.input,
    reject: false,
    cancelSignal: signal,
    forceKillAfterDelay: 5000,
    stdio: ['pipe', options.stdout ?? 'pipe', 'pipe', ...(options.passFds ?? [])] as Options['stdio'],
    stripFinalNewline: false,
    maxBuffer: 1024 * 1024 * 1024,
    buffer: {stdout: options.captureStdout ?? true, stderr: false},
  })
  const forward = (stream: NodeJS.ReadableStream | null, isError: boolean): void => {
    let pending = ''
    stream?.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString('utf8')).split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) handle(line, isError)
    })
    stream?.on('end', () => pending && handle(pending, isError))
  }
  const handle = (line: string, isError: boolean): void => {
    log?.write(line)
    if (isError) {
      stderrLines.push(line)
      if (stderrLines.length > 200) stderrLines.splice(0, 100)
    }
    if (line.trim()) onLine?.(line)
  }
  if (options.stdout === undefined || options.stdout === 'pipe') forward(child.stdout, false)
  forward(child.stderr, true)
  const result = await child
  const stderr = stderrLines.join('\n')
  if (result.isCanceled || signal?.aborted) throw new InterruptedError(String(signal?.reason ?? 'SIGINT'))
  if (result.failed) {
    const error = result as unknown as {code?: string}
    if (error.code === 'ENOENT') throw commandNotFound(command)
    // A full disk is the one cause worth naming in the message itself: it is not the command's fault.
    const full = stderrLines.some((line) => /No space left on device/i.test(line)) ? ': no space left on device' : ''
    const how = (result.signal ? `was killed by ${result.signal}` : result.exitCode === undefined ? `could not be started (${error.code ?? result.shortMessage})` : `failed with exit code ${result.exitCode}`) + full
    throw new ToolError(command, `${options.label ?? commandName(command, args)} ${how}`, stderrLines, log?.path)
  }
  return {stdout: typeof result.stdout === 'string' ? result.stdout : '', stderr}
}

/** "ostree commit", "bwrap dracut": the command and what it runs, for messages. */
function commandName(command: string, args: string[]): string {
  const sub = args.find((arg) => !arg.startsWith('-') && !arg.includes('/') && !arg.includes('='))
  return sub ? `${command} ${sub}` : command
}

function quoteForLog(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`
}

/** The host itself as a CommandRunner: for tool steps on the user's own files (a repo to copy into a disk). */
export const hostRunner: CommandRunner = {
  run: (command, options) => run(command[0], command.slice(1), {label: command[0], ...options}),
}
