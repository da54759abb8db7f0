import {Command, Flags, Interfaces} from '@oclif/core'
import {AptOstreeError, ExitCode, FailedResult, fromSystemError} from '../errors.js'
import {printable} from '../text.js'
import {usageErrorOfParse} from './parse-errors.js'
import {ListrReporter, rendererFor} from './progress.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

/**
 * The one place where errors become output and exit codes: typed errors print
 * their user message; anything else is a bug, printed without a stack trace
 * unless --verbose.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static enableJsonFlag = true

  static baseFlags = {
    verbose: Flags.boolean({description: 'Show full command output and stack traces.', helpGroup: 'GLOBAL'}),
    quiet: Flags.boolean({char: 'q', description: 'Print only errors and the final result.', helpGroup: 'GLOBAL'}),
  }

  protected flags!: BaseFlags<T>

  public async init(): Promise<void> {
    await super.init()
    const {flags} = await this.parse({flags: this.ctor.flags, baseFlags: (this.ctor as typeof BaseCommand).baseFlags, enableJsonFlag: this.ctor.enableJsonFlag, args: this.ctor.args, strict: this.ctor.strict})
    this.flags = flags as BaseFlags<T>
    if (process.env.NO_COLOR !== undefined || !process.stdout.isTTY) process.env.FORCE_COLOR = '0'
  }

  /** Progress and notes: stderr, so stdout stays clean for results and --json. */
  protected note(message: string): void {
    if (!this.flags.quiet && !this.jsonEnabled()) process.stderr.write(printable(message) + '\n')
  }

  /** How the pipeline's stages are shown: listr2 on stderr, silent with --json or --quiet. */
  protected reporter(): ListrReporter {
    return new ListrReporter(rendererFor(this.jsonEnabled() || this.flags.quiet), (message) => this.note(`warning: ${message}`))
  }

  protected async catch(thrown: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    const badCommandLine = usageErrorOfParse(thrown, `${this.config.bin} ${this.id?.replaceAll(':', ' ') ?? ''}`.trim())
    // The command line was read, and refused: oclif's development-mode warning that parse was never called would be wrong.
    if (badCommandLine) this.parsed = true
    const error = (badCommandLine ?? fromSystemError(thrown)) as typeof thrown
    if (this.jsonEnabled() && error instanceof FailedResult) {
      this.logJson(error.result)
      process.exitCode = error.exitCode
      return undefined
    }
    if (this.jsonEnabled()) {
      const code = error instanceof AptOstreeError ? error.exitCode : ExitCode.failed
      this.logJson({error: {message: error.message, exitCode: code, ...(error instanceof AptOstreeError && error.details.length ? {details: error.details} : {})}})
      process.exitCode = code
      return undefined
    }
    if (error instanceof AptOstreeError) {
      // A message quotes what a treefile, a package or a tool said: escaped, it never acts on the terminal.
      process.stderr.write(printable(`${error.message}\n${error.details.map((line) => line + '\n').join('')}`))
      process.exitCode = error.exitCode
      return undefined
    }
    // oclif's own exit errors (this.exit) carry their exit code.
    if (error.oclif?.exit !== undefined) return super.catch(error)
    const verbose = process.argv.includes('--verbose')
    process.stderr.write(`apt-ostree: internal error: ${printable(error.message)}\n${verbose ? `${error.stack}\n` : 'Run again with --verbose for the stack trace.\n'}`)
    process.exitCode = ExitCode.failed
    return undefined
  }
}
