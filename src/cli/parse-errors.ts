import {stripVTControlCharacters} from 'node:util'
import {Errors} from '@oclif/core'
import {UsageError} from '../errors.js'

/** How oclif ends every message of a command line it could not parse. */
const PARSE_ERROR_END = '\nSee more help with --help'

/** oclif's advice lines, which the one-line message replaces with a pointer to --help. */
const ADVICE = /^(See more help with --help|Note: .*|Alternatively, .*|The following errors? occurred:)$/

/**
 * A command line oclif could not parse, as bad input like any other: one
 * line naming what is wrong and the command's --help, exit 2, in --json too.
 * oclif's own rendering prints a whole help page for a missing argument, its
 * flag-validation errors take three lines and a flag's bad value exits 1.
 * Undefined for anything else.
 */
export function usageErrorOfParse(error: unknown, command: string): UsageError | undefined {
  if (!(error instanceof Errors.CLIError) || !error.message.endsWith(PARSE_ERROR_END)) return undefined
  // RequiredArgsError lists the missing arguments with their descriptions, over several lines.
  const args = 'args' in error && Array.isArray(error.args) ? error.args : []
  const missing = args.flatMap((arg: unknown) => (typeof arg === 'object' && arg !== null && 'name' in arg ? [String(arg.name).toUpperCase()] : []))
  const lines = /^Missing \d+ required arg/.test(error.message) && missing.length > 0
    ? [`missing argument ${missing.join(' ')}`]
    : stripVTControlCharacters(error.message).split('\n').map((line) => line.trim()).filter((line) => line && !ADVICE.test(line))
      .map((line) => line.replace(/^Missing required flag (\S+)$/, 'missing required flag --$1').replace(/^[A-Z](?=[a-z])/, (first) => first.toLowerCase()))
  // A flag's own parser failing: "Parsing --cycles", then why.
  const what = lines.join('; ').replace(/^parsing (--\S+); /, '$1: ')
  return new UsageError(`${command}: ${what} (see ${command} --help)`)
}
