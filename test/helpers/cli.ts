import {execa} from 'execa'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const bin = path.join(repoRoot, 'bin/run.js')

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** Run the built CLI as a user would, from `cwd` (the repo root by default). */
export async function runCli(args: string[], options: {cwd?: string; env?: Record<string, string>} = {}): Promise<CliResult> {
  const result = await execa('node', [bin, ...args], {cwd: options.cwd ?? repoRoot, env: options.env, reject: false})
  return {exitCode: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr}
}

/** Lines that look like a JavaScript stack frame. */
export const STACK_FRAME = /^\s+at .+(\(|:\d+:\d+)/m
