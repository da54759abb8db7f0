import {execa} from 'execa'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, test} from 'vitest'
import {confinedParts, copyConfined, listConfined, readConfined} from '../../src/sandbox/confined-open.js'

// The host's one way into a directory sandboxed code wrote: each attack a
// tree can plant where the host reads (a link out, a link on the way, a
// FIFO, a device, a path with `..`) is refused, and the host file it aims
// at is neither read nor written.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-confined-'))
const root = path.join(work, 'tree')
const secret = path.join(work, 'host-secret')
afterAll(() => rmSync(work, {recursive: true, force: true}))

mkdirSync(path.join(root, 'boot/ostree/debian-1'), {recursive: true})
writeFileSync(path.join(root, 'boot/ostree/debian-1/vmlinuz'), 'kernel\n')
writeFileSync(secret, 'host secret\n', {mode: 0o600})
symlinkSync(secret, path.join(root, 'boot/ostree/debian-1/initrd'))
symlinkSync(path.dirname(secret), path.join(root, 'boot/outside'))
symlinkSync('debian-1', path.join(root, 'boot/ostree/relative-link'))

const read = (relative: string): Promise<string> => readConfined(root, relative, 'test file').then((bytes) => bytes.toString('utf8'))

describe('openConfined', () => {
  test('a regular file below the root is read', async () => {
    expect(await read('boot/ostree/debian-1/vmlinuz')).toBe('kernel\n')
    expect(await read('boot//ostree/debian-1/vmlinuz')).toBe('kernel\n')
  })

  test('a link as the file, or anywhere on the way, is refused (also one that stays inside)', async () => {
    await expect(read('boot/ostree/debian-1/initrd')).rejects.toThrow('test file "boot/ostree/debian-1/initrd": a symbolic link on the way; refused')
    await expect(read('boot/outside/host-secret')).rejects.toThrow(/a symbolic link on the way; refused$/)
    await expect(read('boot/ostree/relative-link/vmlinuz')).rejects.toThrow(/a symbolic link on the way; refused$/)
  })

  test('`..`, `.`, absolute paths and control characters are refused as data, before anything is opened', () => {
    expect(() => confinedParts('../host-secret', 'test file')).toThrow('test file "../host-secret": not a path below its directory; refused')
    expect(() => confinedParts('boot/../../host-secret', 'test file')).toThrow(/not a path below its directory/)
    expect(() => confinedParts('./boot', 'test file')).toThrow(/not a path below its directory/)
    expect(() => confinedParts(secret, 'test file')).toThrow(/not a relative path; refused$/)
    expect(() => confinedParts('boot/\x1b]52;c;aGk=\x07', 'test file')).toThrow('test file "boot/\\u001b]52;c;aGk=\\u0007": not a relative path; refused')
    expect(() => confinedParts('', 'test file')).toThrow(/not a path below its directory/)
  })

  test('a FIFO is refused without waiting for a writer, a device is refused', async () => {
    await execa('mkfifo', [path.join(root, 'boot/fifo')])
    await expect(read('boot/fifo')).rejects.toThrow('test file "boot/fifo": not a regular file; refused')
    if (process.getuid?.() === 0) {
      await execa('mknod', [path.join(root, 'boot/null'), 'c', '1', '3'])
      await expect(read('boot/null')).rejects.toThrow('test file "boot/null": not a regular file; refused')
    }
  }, 10_000)

  test('copyConfined writes a new 0600 file of the same bytes, and never through a link at the destination', async () => {
    const copy = path.join(work, 'kernel-copy')
    await copyConfined(root, 'boot/ostree/debian-1/vmlinuz', copy, 'kernel')
    expect(readFileSync(copy, 'utf8')).toBe('kernel\n')
    const planted = path.join(work, 'planted')
    symlinkSync(secret, planted)
    await expect(copyConfined(root, 'boot/ostree/debian-1/vmlinuz', planted, 'kernel')).rejects.toThrow(/EEXIST/)
    expect(readFileSync(secret, 'utf8')).toBe('host secret\n')
  })

  test('listConfined lists a directory, not one a link leads to', async () => {
    expect(await listConfined(root, 'boot/ostree/debian-1', 'boot entries')).toEqual(['initrd', 'vmlinuz'])
    await expect(listConfined(root, 'boot/outside', 'boot entries')).rejects.toThrow(/a symbolic link on the way; refused$/)
  })
})
