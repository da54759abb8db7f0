import {execa} from 'execa'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
/** The built CLI (bin/run.js), and the CLI run from its TypeScript sources (bin/dev.js), which unit tests use: they need no build. */
export const BUILT_CLI = path.join(repoRoot, 'bin/run.js')
export const SOURCE_CLI = path.join(repoRoot, 'bin/dev.js')

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface CliOptions {
  cwd?: string
  env?: Record<string, string>
  /** bin/dev.js instead of the built CLI. */
  fromSources?: boolean
}

/** Run the CLI as a user would, from `cwd` (the repo root by default). */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const result = await execa('node', [options.fromSources ? SOURCE_CLI : BUILT_CLI, ...args], {cwd: options.cwd ?? repoRoot, env: options.env, reject: false})
  return {exitCode: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr}
}

/** The CLI from its sources, for unit tests. */
export function runSourceCli(args: string[], options: Omit<CliOptions, 'fromSources'> = {}): Promise<CliResult> {
  return runCli(args, {...options, fromSources: true})
}

/** Lines that look like a JavaScript stack frame. */
export const STACK_FRAME = /^\s+at .+(\(|:\d+:\d+)/m
