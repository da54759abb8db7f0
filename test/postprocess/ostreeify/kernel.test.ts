import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, expect, test} from 'vitest'
import {TreeFs} from '../../../src/sandbox/tree-fs.js'
import {dracutBuildsInSysroot, dracutPicksPlainGzip} from '../../../src/postprocess/ostreeify/kernel.js'

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

/** A dpkg status file in the tree listing PACKAGES (name and version), installed, as dpkg writes it. */
function writeStatus(packages: Array<[string, string]>): void {
  mkdirSync(path.join(root, 'var/lib/dpkg'), {recursive: true})
  const stanza = ([name, version]: [string, string]) => `Package: ${name}\nStatus: install ok installed\nArchitecture: arm64\nVersion: ${version}\n`
  writeFileSync(path.join(root, 'var/lib/dpkg/status'), packages.map(stanza).join('\n'))
}

test('dracut builds in --sysroot mode (the host\'s programs beside it) from trixie\'s 106 on; bookworm\'s 059 and a tree without dracut-core do not', async () => {
  const tree = new TreeFs(root)
  expect(await dracutBuildsInSysroot(tree)).toBe(false)
  for (const [version, expected] of [['059-4', false], ['106-6', true], ['112-7', true], ['1:105-1', false]] as const) {
    writeStatus([['dracut', version], ['dracut-core', version]])
    expect([version, await dracutBuildsInSysroot(tree)]).toEqual([version, expected])
  }
  writeStatus([['dracut', '106-6']])
  expect(await dracutBuildsInSysroot(tree)).toBe(false)
})
