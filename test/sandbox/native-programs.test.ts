import {execa} from 'execa'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, test} from 'vitest'
import {coverablePrograms, DEB_READERS, DRACUT_STAND_INS, NATIVE_DIR, prepareNativePrograms, standInBinds} from '../../src/sandbox/native-programs.js'
import {TreeFs} from '../../src/sandbox/tree-fs.js'

// The host's programs, relinked to their own loader and libraries, run in a
// tree that has no x86-64 loader (as an arm64 tree has none) and do what
// dracut asks of them; the tree itself is left as it was.
let work: string
let tree: string
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-native-programs-'))
  tree = path.join(work, 'tree')
  for (const directory of ['usr/bin', 'dev', 'proc', 'run', 'tmp', 'data']) mkdirSync(path.join(tree, directory), {recursive: true})
  for (const program of DRACUT_STAND_INS) writeFileSync(path.join(tree, program), `the tree's own ${path.basename(program)}\n`)
})
afterEach(() => rmSync(work, {recursive: true, force: true}))

/** Every path in ROOT, sorted. */
function entries(root: string): string[] {
  return readdirSync(root, {recursive: true}).map(String).sort()
}

test('the host\'s cp copies in a tree without an x86-64 loader, keeping mode and time; the tree keeps its own cp', async () => {
  const tools = path.join(work, 'native')
  await prepareNativePrograms(tools, ['/usr/bin/cp'])
  expect((await execa('patchelf', ['--print-interpreter', path.join(tools, 'cp')])).stdout).toBe('/run/apt-ostree/native/ld-linux-x86-64.so.2')
  writeFileSync(path.join(tree, 'data/module.ko'), 'module bytes\n', {mode: 0o640})
  utimesSync(path.join(tree, 'data/module.ko'), 1700000000, 1700000000)
  const before = entries(tree)
  const binds = standInBinds(tools, ['/usr/bin/cp']).flatMap(([from, to]) => ['--ro-bind', from, to])
  // dracut-install's very command line for a file it cannot clone.
  await execa('bwrap', ['--bind', tree, '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/run', ...binds, '--unshare-pid', '--',
    'cp', '--reflink=auto', '--sparse=auto', '--preserve=mode,timestamps,ownership', '-fL', '/data/module.ko', '/data/copy.ko'], {env: {PATH: '/usr/bin'}, extendEnv: false})
  const copy = statSync(path.join(tree, 'data/copy.ko'))
  expect([readFileSync(path.join(tree, 'data/copy.ko'), 'utf8'), copy.mode & 0o7777, copy.mtimeMs]).toEqual(['module bytes\n', 0o640, 1700000000000])
  expect(readFileSync(path.join(tree, 'usr/bin/cp'), 'utf8')).toBe('the tree\'s own cp\n')
  expect(entries(tree)).toEqual([...before, 'data/copy.ko'].sort())
})

test('the host\'s bash, sed, grep and mkdir, bound over the tree\'s, run a script of the tree as dracut\'s module scripts run; the tree keeps its own', async () => {
  const tools = path.join(work, 'native')
  await prepareNativePrograms(tools, DRACUT_STAND_INS)
  writeFileSync(path.join(tree, 'data/modules.order'), 'kernel/fs/ext4/ext4.ko\nkernel/drivers/virtio/virtio_blk.ko\n')
  // A script of the tree, started by its shebang as dracut starts ldd.
  writeFileSync(path.join(tree, 'data/setup.sh'), [
    '#!/usr/bin/bash',
    'set -euo pipefail',
    'declare -A seen',
    'while read -r module; do module=${module##*/}; seen[${module%.ko}]=1; done < <(grep virtio /data/modules.order)',
    'mkdir -p /data/out/etc',
    'printf \'%s\\n\' "${!seen[@]}" | sed \'s/^/add_drivers+=" /; s/$/ "/\' > /data/out/etc/drivers.conf',
    '',
  ].join('\n'), {mode: 0o755})
  const before = entries(tree)
  const binds = standInBinds(tools, DRACUT_STAND_INS).flatMap(([from, to]) => ['--ro-bind', from, to])
  await execa('bwrap', ['--bind', tree, '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/run', ...binds, '--unshare-pid', '--', '/data/setup.sh'], {env: {PATH: '/usr/bin'}, extendEnv: false})
  expect(readFileSync(path.join(tree, 'data/out/etc/drivers.conf'), 'utf8')).toBe('add_drivers+=" virtio_blk "\n')
  for (const program of DRACUT_STAND_INS) expect(readFileSync(path.join(tree, program), 'utf8')).toBe(`the tree's own ${path.basename(program)}\n`)
  expect(entries(tree)).toEqual([...before, 'data/out', 'data/out/etc', 'data/out/etc/drivers.conf'].sort())
})

test('the host\'s dpkg-deb reads a .deb in a tree without an x86-64 loader or a tar, as the host\'s own reads it', async () => {
  const tools = path.join(work, 'native')
  await prepareNativePrograms(tools, DEB_READERS)
  expect(readdirSync(tools)).toEqual(expect.arrayContaining(['dpkg-deb', 'tar', 'ld-linux-x86-64.so.2', 'liblzma.so.5']))
  const source = path.join(work, 'package')
  mkdirSync(path.join(source, 'DEBIAN'), {recursive: true})
  mkdirSync(path.join(source, 'usr/share/doc/hello'), {recursive: true})
  writeFileSync(path.join(source, 'DEBIAN/control'), 'Package: hello\nVersion: 1\nArchitecture: all\nMaintainer: nobody <nobody@example.org>\nDescription: a test\n')
  writeFileSync(path.join(source, 'DEBIAN/postinst'), '#!/bin/sh\nexit 0\n', {mode: 0o755})
  writeFileSync(path.join(source, 'usr/share/doc/hello/README'), 'hello\n'.repeat(1000))
  await execa('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', source, path.join(tree, 'data/hello.deb')])
  // dpkg's own two commands for a .deb; --control runs tar, which the tree has none of.
  const sandboxed = (args: string[]) =>
    execa('bwrap', ['--bind', tree, '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/run', '--ro-bind', tools, NATIVE_DIR, '--unshare-pid', '--', ...args], {
      env: {PATH: `${NATIVE_DIR}:/usr/bin`},
      extendEnv: false,
      encoding: 'buffer',
    })
  const data = await sandboxed(['dpkg-deb', '--fsys-tarfile', '/data/hello.deb'])
  expect(Buffer.compare(data.stdout, (await execa('dpkg-deb', ['--fsys-tarfile', path.join(tree, 'data/hello.deb')], {encoding: 'buffer'})).stdout)).toBe(0)
  await sandboxed(['dpkg-deb', '--control', '/data/hello.deb', '/data/control'])
  expect(readdirSync(path.join(tree, 'data/control')).sort()).toEqual(['control', 'postinst'])
  expect(statSync(path.join(tree, 'data/control/postinst')).mode & 0o777).toBe(0o755)
})

describe('a tree\'s program is covered only where a bind would land on it', () => {
  test('plain files: yes, each', async () => {
    expect(await coverablePrograms(new TreeFs(tree), DRACUT_STAND_INS)).toEqual(DRACUT_STAND_INS)
  })

  test('missing (the bind would create it), a link, or under a linked directory: no, and the others still yes', async () => {
    const fs = new TreeFs(tree)
    rmSync(path.join(tree, 'usr/bin/cp'))
    expect(await coverablePrograms(fs, DRACUT_STAND_INS)).toEqual(DRACUT_STAND_INS.filter((program) => program !== '/usr/bin/cp'))
    symlinkSync('/bin/busybox', path.join(tree, 'usr/bin/cp'))
    rmSync(path.join(tree, 'usr/bin/sed'))
    symlinkSync('busybox', path.join(tree, 'usr/bin/sed'))
    expect(await coverablePrograms(fs, ['/usr/bin/cp', '/usr/bin/sed', '/usr/bin/grep'])).toEqual(['/usr/bin/grep'])
    rmSync(path.join(tree, 'usr/bin'), {recursive: true})
    mkdirSync(path.join(tree, 'elsewhere'))
    writeFileSync(path.join(tree, 'elsewhere/cp'), '')
    symlinkSync('/elsewhere', path.join(tree, 'usr/bin'))
    expect(await coverablePrograms(fs, ['/usr/bin/cp'])).toEqual([])
  })
})
