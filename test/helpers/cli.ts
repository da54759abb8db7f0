import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {format} from 'node:util'
import {execa} from 'execa'
// @ts-expect-error: a plain .js module, without type declarations
import {sourceLoadOptions} from '../../bin/sources.js'

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

let running = Promise.resolve()

/**
 * The CLI from its sources, for unit tests: in this process (oclif loads
 * the commands through tsx, as bin/dev.js has it), its stdout, stderr and
 * exit status captured. Runs one at a time: they share the process.
 */
export function runSourceCli(args: string[], options: Pick<CliOptions, 'env'> = {}): Promise<CliResult> {
  const result = running.then(() => runInProcess(args, options.env ?? {}))
  running = result.then(() => undefined, () => undefined)
  return result
}

async function runInProcess(args: string[], env: Record<string, string>): Promise<CliResult> {
  const loadOptions = (sourceLoadOptions as () => object)()
  const {run} = await import('@oclif/core')
  const stdout: string[] = []
  const stderr: string[] = []
  const saved = {log: console.log, error: console.error, out: process.stdout.write, err: process.stderr.write, exitCode: process.exitCode, env: {...process.env}}
  console.log = (...parts: unknown[]) => void stdout.push(`${format(...parts)}\n`)
  console.error = (...parts: unknown[]) => void stderr.push(`${format(...parts)}\n`)
  process.stdout.write = ((chunk: string | Uint8Array) => stdout.push(String(chunk)) > 0) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array) => stderr.push(String(chunk)) > 0) as typeof process.stderr.write
  Object.assign(process.env, env)
  process.exitCode = undefined
  let exitCode: number
  try {
    await run(args, loadOptions as unknown as string)
    exitCode = Number(process.exitCode ?? 0)
  } catch (error) {
    const failure = error as {oclif?: {exit?: number}; message: string}
    exitCode = failure.oclif?.exit ?? 1
    if (exitCode !== 0) stderr.push(`${failure.message}\n`)
  } finally {
    Object.assign(console, {log: saved.log, error: saved.error})
    process.stdout.write = saved.out
    process.stderr.write = saved.err
    process.exitCode = saved.exitCode
    for (const key of Object.keys(process.env)) if (!(key in saved.env)) delete process.env[key]
    Object.assign(process.env, saved.env)
  }
  return {exitCode, stdout: stdout.join('').replace(/\n$/, ''), stderr: stderr.join('').replace(/\n$/, '')}
}

/** Lines that look like a JavaScript stack frame. */
export const STACK_FRAME = /^\s+at .+(\(|:\d+:\d+)/m
