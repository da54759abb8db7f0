import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, describe, expect, test} from 'vitest'
import {repoRoot, runCli, STACK_FRAME} from '../helpers/cli.js'
import {fsckProblems} from '../helpers/ostree.js'
import {leftAfter, processTree} from '../helpers/processes.js'

// The boot test: each treefile's commit, deployed by the target's own ostree
// into a fresh sysroot, booted under QEMU, must reach multi-user.target with
// no failed unit.
const cacheDir = path.join(repoRoot, '.cache/test')
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-boot-'))
const repo = path.join(work, 'repo')
afterAll(async () => {
  try {
    // Every repo these tests wrote is whole.
    expect(await fsckProblems(repo)).toBeUndefined()
  } finally {
    rmSync(work, {recursive: true, force: true})
  }
})

async function composeAndBoot(treefile: string, ref: string): Promise<string> {
  const composed = await runCli(['compose', 'tree', treefile, '--repo', repo, '--cachedir', cacheDir], {env: {CI: 'true'}})
  if (composed.exitCode !== 0) throw new Error(`compose failed:\n${composed.stderr}`)
  const booted = await runCli(['vm', 'boot', '--repo', repo, ref, '--cachedir', cacheDir, '--timeout', '900'])
  expect(booted.stderr).not.toMatch(/boot of .* failed/)
  expect(booted.exitCode).toBe(0)
  return booted.stdout
}

describe('vm boot', () => {
  test('the default trixie commit boots to multi-user.target with no failed unit', async () => {
    const report = await composeAndBoot('treefiles/debian-trixie-minimal.yaml', 'debian/13/amd64/minimal')
    expect(report).toMatch(/^reached multi-user\.target in \d+(\.\d)? s$/m)
    expect(report).toContain('failed units: none')
    expect(report).toContain('composefs on /: no')
    expect(report).toMatch(/kernel command line: .*ostree=\/ostree\/boot\.\d\/debian\//)
    // Boot hygiene: the journal's err-level lines are reported, and none is systemd-tmpfiles' (the /home, /srv, /root links).
    expect(report).toMatch(/^err-level journal lines: /m)
    expect(report).not.toMatch(/^ {2}systemd-tmpfiles: /m)
  })

  test('the forky commit boots with / on composefs', async () => {
    const report = await composeAndBoot('treefiles/debian-forky-minimal.yaml', 'debian/14/amd64/minimal')
    expect(report).toMatch(/^reached multi-user\.target in /m)
    expect(report).toContain('failed units: none')
    expect(report).toContain('composefs on /: yes')
    expect(report).not.toMatch(/^ {2}systemd-tmpfiles: /m)
  })

  test('compose disk-image writes a qcow2 disk: an EFI partition with GRUB, the root with the deployment (vm upgrade boots such disks)', async () => {
    const disk = path.join(work, 'minimal.qcow2')
    const made = await runCli(['compose', 'disk-image', '--repo', repo, 'debian/13/amd64/minimal', '-o', disk, '--cachedir', cacheDir])
    expect(made.stderr).not.toMatch(STACK_FRAME)
    expect(made.exitCode).toBe(0)
    expect(made.stderr).toMatch(/^disk: +\d+ MiB \(qcow2, \d+ MB on disk\)$/m)
    const {stdout: table} = await execa('qemu-img', ['info', disk])
    expect(table).toContain('file format: qcow2')
    const raw = path.join(work, 'minimal.raw')
    await execa('qemu-img', ['convert', '-O', 'raw', disk, raw])
    const {stdout: partitions} = await execa('sfdisk', ['--dump', raw])
    expect(partitions).toMatch(/name="esp"/)
    const esp = path.join(work, 'esp.img')
    await execa('dd', [`if=${raw}`, `of=${esp}`, 'bs=1M', 'skip=1', 'count=64', 'status=none'])
    const {stdout: loader} = await execa('mdir', ['-i', esp, '-b', '::/EFI/BOOT'], {env: {MTOOLS_SKIP_CHECK: '1'}})
    expect(loader.trim()).toBe('::/EFI/BOOT/BOOTX64.EFI')
    rmSync(raw)
    rmSync(esp)
  })

  test('a tree without an initramfs is refused with a clear message before any boot', async () => {
    const tree = path.join(work, 'broken-tree')
    const broken = path.join(work, 'broken-repo')
    await execa('ostree', ['checkout', `--repo=${repo}`, 'debian/13/amd64/minimal', tree])
    const {stdout: kernels} = await execa('sh', ['-c', `ls ${tree}/usr/lib/modules`])
    rmSync(path.join(tree, 'usr/lib/modules', kernels.trim(), 'initramfs.img'))
    await execa('ostree', ['init', `--repo=${broken}`, '--mode=bare-user'])
    await execa('ostree', ['commit', `--repo=${broken}`, '--branch=broken', `--tree=dir=${tree}`, `--add-metadata-string=ostree.linux=${kernels.trim()}`])
    const failed = await runCli(['vm', 'boot', '--repo', broken, 'broken', '--cachedir', cacheDir, '--timeout', '300'])
    expect(failed.exitCode).toBe(1)
    expect(failed.stderr.trim()).toBe(`broken: the commit has no initramfs (/usr/lib/modules/${kernels.trim()}/initramfs.img): ostree-prepare-root runs from it, so it cannot boot`)
    expect(readdirSync(path.join(cacheDir, 'work'))).toEqual([])
    await execa('ostree', ['commit', `--repo=${broken}`, '--branch=no-kernel', `--tree=dir=${tree}`])
    const noKernel = await runCli(['vm', 'boot', '--repo', broken, 'no-kernel', '--cachedir', cacheDir])
    expect([noKernel.exitCode, noKernel.stderr.trim()]).toEqual([1, 'no-kernel: the commit has no kernel (no ostree.linux metadata): nothing to boot'])
  })

  test('SIGINT mid-boot stops QEMU and leaves no work dir, mount or loop device', async () => {
    const child = execa('node', [path.join(repoRoot, 'bin/run.js'), 'vm', 'boot', '--repo', repo, 'debian/13/amd64/minimal', '--cachedir', cacheDir, '--console'], {reject: false})
    await new Promise<void>((resolve) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        if (/Linux version/.test(chunk.toString())) resolve()
      })
    })
    const started = await processTree(child.pid!)
    expect(started.some((info) => info.command.startsWith('qemu-system-x86_64'))).toBe(true)
    child.kill('SIGINT')
    const result = await child
    expect(result.exitCode).toBe(130)
    expect(result.stderr).toMatch(/^interrupted by SIGINT$/m)
    // What this boot started, nothing else on the machine: its processes, its work dir, loop devices and mounts of the cache.
    expect(await leftAfter(started)).toEqual([])
    expect(readdirSync(path.join(cacheDir, 'work'))).toEqual([])
    expect((await execa('losetup', ['-a'])).stdout).not.toContain(cacheDir)
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(cacheDir)
  })

  test('a ref that does not exist is refused, nothing is left behind', async () => {
    const refused = await runCli(['vm', 'boot', '--repo', repo, 'debian/99/none', '--cachedir', cacheDir])
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr.trim()).toBe(`debian/99/none: no such ref or commit in ${repo}`)
    expect(existsSync(path.join(cacheDir, 'work')) ? readdirSync(path.join(cacheDir, 'work')) : []).toEqual([])
  })
})
