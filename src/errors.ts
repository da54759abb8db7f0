/**
 * Typed errors with a message meant for the user. The command layer
 * (src/cli/base-command.ts) is the one place that turns them into output and
 * an exit code; nothing else prints or exits (the worker, src/worker/main.ts,
 * is a program of its own and reports its errors to the CLI as events).
 */

/** Exit codes: 0 ok, 1 the work failed, 2 bad input, 130 interrupted. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  interrupted: 130,
} as const

export class AptOstreeError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failed,
    /** Extra lines printed after the message (a log path, stderr tail). */
    readonly details: string[] = [],
  ) {
    super(message)
    this.name = new.target.name
  }
}

/** A position in a file the user wrote. */
export interface SourceLocation {
  file: string
  line: number
  col: number
}

export interface Diagnostic {
  location: SourceLocation
  message: string
}

/** One or more problems in a treefile or the files it includes: exit 2. */
export class TreefileError extends AptOstreeError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'), ExitCode.usage)
  }

}

/**
 * The work ran and its result says it failed (a boot that did not reach its
 * target, a lint with fatal findings): with --json the result is the
 * document printed, otherwise the message.
 */
export class FailedResult extends AptOstreeError {
  constructor(
    message: string,
    readonly result: unknown,
  ) {
    super(message, ExitCode.failed)
  }
}

/** Bad command-line input that is not about a treefile: exit 2. */
export class UsageError extends AptOstreeError {
  constructor(message: string) {
    super(message, ExitCode.usage)
  }
}

/** An external command failed: says which, how, and the end of its stderr. */
export class ToolError extends AptOstreeError {
  static readonly TAIL_LINES = 12

  constructor(
    readonly command: string,
    message: string,
    /** The last lines of stderr (up to a few hundred); the message shows the tail. */
    readonly stderr: string[],
    readonly logFile?: string,
  ) {
    super(message, ExitCode.failed, [
      ...stderr.slice(-ToolError.TAIL_LINES).map((line) => `  ${line}`),
      ...(logFile ? [`full log: ${logFile}`] : []),
    ])
  }
}

/** SIGINT or SIGTERM arrived: the work was undone. */
export class InterruptedError extends AptOstreeError {
  constructor(signal: string) {
    super(`interrupted by ${signal}`, ExitCode.interrupted)
  }
}

export function formatLocation({file, line, col}: SourceLocation): string {
  return `${file}:${line}:${col}`
}

export function formatDiagnostic({location, message}: Diagnostic): string {
  return `${formatLocation(location)}: ${message}`
}

/** System errors the user can act on (a full disk, a read-only or forbidden path), by errno code. */
const SYSTEM_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
}

/** A Node system error as a user error (exit 1) naming the path; other errors unchanged. */
export function fromSystemError(error: unknown): unknown {
  const system = error as NodeJS.ErrnoException
  const text = system?.code ? SYSTEM_ERRORS[system.code] : undefined
  if (!text || error instanceof AptOstreeError) return error
  return new AptOstreeError(`${system.path ?? system.syscall ?? 'a file'}: ${text}`)
}

