import type {Duplex} from 'node:stream'
import {execa} from 'execa'

/** `xz -dc` as a stream: Packages.xz indices (Node has no xz). */
export function xzDecompressor(): Duplex {
  return execa('xz', ['-dc'], {buffer: false, stderr: 'pipe'}).duplex()
}
