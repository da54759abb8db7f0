import {mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, describe, expect, it} from 'vitest'
import {runSourceCli, STACK_FRAME} from '../helpers/cli.js'

// Bad image options fail before any compose work, with one clear line and
// exit 2, and leave nothing behind.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-image-flags-'))
const cache = path.join(work, 'cache')
const treefile = 'treefiles/debian-trixie-minimal.yaml'
afterAll(async () => {
  await execa('chattr', ['-i', path.join(work, 'immutable')], {reject: false})
  rmSync(work, {recursive: true, force: true})
})

const compose = (...extra: string[]) => runSourceCli(['compose', 'tree', treefile, '--cachedir', cache, ...extra])

describe('image options', () => {
  it.each([
    [['--container'], 2, '--container needs --output (-o) naming where the image goes, e.g. -o oci-archive:out/image.ociarchive'],
    [['-o', 'oci:out/x'], 2, '--output is for the image: add --container'],
    [['--container', '-o', 'ftp://host/image'], 2, 'ftp://host/image: unknown image transport "ftp"; use oci:DIR[:TAG], oci-archive:FILE[:TAG], containers-storage:NAME[:TAG] or docker://REGISTRY/NAME[:TAG]'],
    [['--container', '-o', 'out/image.tar'], 2, 'out/image.tar: unknown image transport; use oci:DIR[:TAG], oci-archive:FILE[:TAG], containers-storage:NAME[:TAG] or docker://REGISTRY/NAME[:TAG]'],
    [['--container', '-o', 'oci:/tmp/x', '--max-layers', '3'], 2, '--max-layers must be an integer of at least 4 (got 3)'],
    [['--container', '-o', 'oci:/tmp/x', '--compression', 'bzip2'], 2, undefined],
    [['--container', '-o', 'oci-archive:/etc/hostname/image.tar'], 2, '--output /etc/hostname/image.tar: cannot write it there (a parent is not a directory)'],
  ])('%j', async (args, exitCode, message) => {
    const result = await compose(...(args as string[]))
    expect(result.exitCode).toBe(exitCode)
    if (message) expect(result.stderr.trim()).toBe(message)
    expect(result.stderr).not.toMatch(STACK_FRAME)
  })

  it.each([
    [['--arch', 'amd64', '--arch', 'aarch64'], 'unknown architecture "aarch64" (did you mean "arm64"? Debian calls it so); known: amd64, arm64, armhf, armel, i386, loong64, mips64el, ppc64el, riscv64, s390x'],
    [['--arch', 'amd64', '--arch', 'amd64'], 'two composes would commit to the ref debian/13/amd64/minimal: give each --arch once, and put ${basearch} in the treefile\'s ref'],
    [['--arch', 'amd64', '--arch', 'arm64', '--write-report-to', 'out/report.json'], '--write-report-to is for one architecture\'s build; compose each --arch on its own to use it'],
  ])('compose image %j: refused, exit 2, before any work', async (args, message) => {
    const result = await runSourceCli(['compose', 'image', treefile, `oci-archive:${work}/multi.ociarchive`, '--cachedir', cache, ...args])
    expect(result.stderr.trim()).toBe(message)
    expect(result.exitCode).toBe(2)
    expect(readdirSync(work)).not.toContain('multi.ociarchive')
  })

  it.each([
    [['--arch', 'amd64', '--arch', 'arm64'], 'several --arch make one image index: add --container -o OUTPUT, or compose each --arch on its own'],
    [['--arch', 'amd64', '--arch', 'arm64', '--print-only'], '--print-only is for one architecture: give one --arch'],
    [['--arch', 'amd64', '--arch', 'arm64', '--container', '-o', `oci-archive:${work}/multi.ociarchive`, '--write-lockfile-to', 'out/lock.json'], '--write-lockfile-to is for one architecture\'s build; compose each --arch on its own to use it'],
    [['--arch', 'amd64', '--arch', 'riscv65', '--container', '-o', `oci-archive:${work}/multi.ociarchive`], 'unknown architecture "riscv65"; known: amd64, arm64, armhf, armel, i386, loong64, mips64el, ppc64el, riscv64, s390x'],
  ])('compose tree %j: refused, exit 2, before any work', async (args, message) => {
    const result = await compose('--repo', path.join(work, 'repo'), ...args)
    expect(result.stderr.trim()).toBe(message)
    expect(result.exitCode).toBe(2)
    expect(readdirSync(work)).not.toContain('multi.ociarchive')
    expect(readdirSync(work)).not.toContain('repo')
  })

  it('compose image with several --arch refuses containers-storage, which keeps no index', async () => {
    const result = await runSourceCli(['compose', 'image', treefile, 'containers-storage:localhost/multi', '--arch', 'amd64', '--arch', 'arm64', '--cachedir', cache])
    expect(result.stderr.trim()).toBe('containers-storage keeps one image, not an index of several architectures: write to oci:, oci-archive: or docker://')
    expect(result.exitCode).toBe(2)
  })

  it('container-encapsulate of several commits (an index) refuses containers-storage, before reading the repo', async () => {
    const result = await runSourceCli(['compose', 'container-encapsulate', '--repo', '/nonexistent/repo', 'debian/13/amd64/minimal', 'debian/13/arm64/minimal', 'containers-storage:localhost/multi', '--cachedir', cache])
    expect(result.stderr.trim()).toBe('containers-storage keeps one image, not an index of several architectures: write to oci:, oci-archive: or docker://')
    expect(result.exitCode).toBe(2)
  })

  it('container-encapsulate of several commits refuses a previous build manifest before reading the repo or filling the cache', async () => {
    const own = mkdtempSync(path.join(work, 'encapsulate-'))
    const manifest = path.join(own, 'previous-manifest.json')
    writeFileSync(manifest, JSON.stringify({layers: [{annotations: {'ostree.components': 'base-files'}}]}))
    const result = await runSourceCli(['compose', 'container-encapsulate', '--repo', '/nonexistent/repo', 'debian/13/amd64/minimal', 'debian/13/arm64/minimal', `oci:${own}/multi`, '--previous-build-manifest', manifest, '--cachedir', path.join(own, 'cache')])
    expect(result.stderr.trim()).toBe('--previous-build-manifest names one image; an index keeps the grouping of the index already at the output')
    expect(result.exitCode).toBe(2)
    expect(readdirSync(own)).toEqual(['previous-manifest.json'])
    rmSync(own, {recursive: true, force: true})
  })

  it('refuses an output directory it cannot write, and one that is not an OCI layout', async () => {
    const immutable = path.join(work, 'immutable')
    mkdirSync(immutable)
    await execa('chattr', ['+i', immutable])
    const locked = await compose('--container', '-o', `oci:${immutable}/layout`)
    expect(locked.exitCode).toBe(2)
    expect(locked.stderr.trim()).toBe(`--output ${immutable}/layout: cannot write it there (permission denied)`)
    const notLayout = path.join(work, 'not-a-layout')
    mkdirSync(notLayout)
    writeFileSync(path.join(notLayout, 'keep'), 'mine')
    const refused = await compose('--container', '-o', `oci:${notLayout}`)
    expect(refused.stderr.trim()).toBe(`--output ${notLayout}: exists and is not an OCI layout directory; choose another path or remove it`)
    expect(readdirSync(notLayout)).toEqual(['keep'])
  })

  it('refuses a corrupt previous build manifest and an unreadable image config before composing', async () => {
    const corrupt = path.join(work, 'manifest.json')
    writeFileSync(corrupt, '{"layers": [')
    const manifest = await compose('--container', '-o', `oci:${work}/out`, '--previous-build-manifest', corrupt)
    expect(manifest.exitCode).toBe(2)
    expect(manifest.stderr.trim()).toMatch(new RegExp(`^${corrupt}: the previous build manifest is not valid JSON`))
    const config = path.join(work, 'config.json')
    writeFileSync(config, '{"Cmd": "/bin/sh", "Foo": 1}')
    const badConfig = await compose('--container', '-o', `oci:${work}/out`, '--image-config', config)
    expect(badConfig.stderr.trim()).toBe(`${config}: image config key "Cmd" must be an array of strings`)
    expect(readdirSync(work).sort()).toEqual(['config.json', 'immutable', 'manifest.json', 'not-a-layout'])
  })
})
