import type {Duplex} from 'node:stream'
import {execa} from 'execa'
import {ToolError} from '../errors.js'
import {commandNotFound} from './table.js'

/**
 * `zstd` as a stream (Node 20 has no zstd in node:zlib). The worker count is
 * fixed: zstd's multi-threaded output does not depend on the core count
 * then, so digests stay the same on any machine.
 */
export function zstdCompressor(level = 3): Duplex {
  return execa('zstd', ['-q', `-${level}`, '--threads=2', '-c'], {buffer: false, stderr: 'pipe'}).duplex()
}

/** `zstd -dc` as a stream. */
export function zstdDecompressor(): Duplex {
  return execa('zstd', ['-dc'], {buffer: false, stderr: 'pipe'}).duplex()
}

/** What a failed zstd stream means to the user. */
export function zstdError(error: unknown): unknown {
  const failure = error as {code?: string; stderr?: string; shortMessage?: string}
  if (failure?.code === 'ENOENT') return commandNotFound('zstd')
  if (failure?.shortMessage) return new ToolError('zstd', `zstd ${failure.shortMessage.replace(/^Command /, '')}`, (failure.stderr ?? '').split('\n').filter(Boolean))
  return error
}
