import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, expect, test} from 'vitest'
import {TreeFs} from '../../../src/sandbox/tree-fs.js'
import {dracutPicksPlainGzip} from '../../../src/postprocess/ostreeify/kernel.js'

let root: string
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-kernel-'))
  mkdirSync(path.join(root, 'usr/bin'), {recursive: true})
  mkdirSync(path.join(root, 'etc/dracut.conf.d'), {recursive: true})
})
afterEach(() => rmSync(root, {recursive: true, force: true}))

test('only dracut\'s own gzip fallback is replaced', async () => {
  expect(await dracutPicksPlainGzip(new TreeFs(root), [])).toBe(true)
  expect(await dracutPicksPlainGzip(new TreeFs(root), ['--add-drivers', 'virtio_blk'])).toBe(true)
})

test('a compression chosen in initramfs-args is kept', async () => {
  expect(await dracutPicksPlainGzip(new TreeFs(root), ['--zstd'])).toBe(false)
  expect(await dracutPicksPlainGzip(new TreeFs(root), ['--compress=xz'])).toBe(false)
})

test('zstd or pigz in the tree, which dracut prefers, is kept', async () => {
  writeFileSync(path.join(root, 'usr/bin/zstd'), '')
  expect(await dracutPicksPlainGzip(new TreeFs(root), [])).toBe(false)
})

test('a compress= line in the tree\'s dracut config is kept', async () => {
  writeFileSync(path.join(root, 'etc/dracut.conf.d/50-compress.conf'), 'compress="lz4"\n')
  expect(await dracutPicksPlainGzip(new TreeFs(root), [])).toBe(false)
})
