import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {runSourceCli, STACK_FRAME} from '../helpers/cli.js'
import {tarOf, writeLayout} from '../lint/oci-fixture.js'

// vm boot and compose disk-image refuse what they cannot boot, before any
// deploy or QEMU: one clear line, a non-zero exit, nothing left behind.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-vm-refusals-'))
const cache = path.join(work, 'cache')
afterAll(() => rmSync(work, {recursive: true, force: true}))

describe('vm boot and compose disk-image refuse', () => {
  it('an image without a bootc label', async () => {
    const layout = path.join(work, 'plain')
    writeLayout(layout, [await tarOf([{name: 'hello', content: 'hi'}])], 'latest')
    const result = await runSourceCli(['vm', 'boot', `oci:${layout}`, '--cachedir', cache])
    expect(result.stderr.trim()).toBe(`oci:${layout}:latest: not a bootable image (no containers.bootc or ostree.bootable label)`)
    expect(result.exitCode).toBe(1)
  })

  it.each([
    [['vm', 'boot', '--repo', '/nonexistent/repo', 'debian/13/amd64/minimal', '--target', 'multi-user.target;reboot'], 2, '--target "multi-user.target;reboot": not a systemd target (NAME.target)'],
    [['vm', 'boot', '/nonexistent/disk.qcow2'], 1, '/nonexistent/disk.qcow2: no such disk image'],
    [['vm', 'boot', '--repo', '/nonexistent/repo', 'debian/13/amd64/minimal'], 1, '/nonexistent/repo: not an OSTree repo'],
    [['compose', 'disk-image', '--repo', '/nonexistent/repo', 'debian/13/amd64/minimal', '-o', 'out/x.raw', '--size', '100M'], 2, '--size 100M is too small: a bootable disk needs at least 512M'],
    [['compose', 'disk-image', '--repo', '/nonexistent/repo', 'debian/13/amd64/minimal', '-o', 'out/x.raw', '--size', 'big'], 2, '--size big: expected a size such as 4G or 4096M'],
    [['compose', 'disk-image', '--repo', '/nonexistent/repo', 'debian/13/amd64/minimal', '-o', '/etc/hostname/x.raw'], 2, 'disk image /etc/hostname/x.raw: cannot write it there (a parent is not a directory)'],
    [['compose', 'disk-image', '--repo', '/nonexistent/repo', 'debian/13/amd64/minimal', '-o', path.join(work, 'x.raw')], 1, '/nonexistent/repo: not an OSTree repo'],
    [['compose', 'disk-image', '--repo', '/nonexistent/repo', 'debian/13/amd64/minimal', '--arch', 'arm64', '-o', path.join(work, 'x.raw')], 2, '--arch is for an image index; a commit makes a disk of its own architecture'],
    [['compose', 'disk-image', 'oci-archive:/nonexistent/multi.ociarchive', '--arch', 'aarch64', '-o', path.join(work, 'x.raw')], 2, 'unknown architecture "aarch64" (did you mean "arm64"? Debian calls it so); known: amd64, arm64, armhf, armel, i386, loong64, mips64el, ppc64el, riscv64, s390x'],
  ])('%j', async (args, exitCode, message) => {
    const result = await runSourceCli([...(args as string[]), '--cachedir', cache])
    expect(result.stderr.trim()).toBe(message)
    expect(result.exitCode).toBe(exitCode)
    expect(result.stderr).not.toMatch(STACK_FRAME)
  })
})
