import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, describe, expect, test} from 'vitest'
import {repoRoot, runCli, STACK_FRAME} from '../helpers/cli.js'
import {fsckProblems} from '../helpers/ostree.js'
import {leftAfter, processTree} from '../helpers/processes.js'
import {workDirs, workDirsSince} from '../helpers/work-dirs.js'

// The boot test: a commit deployed by the target's own ostree into a fresh
// sysroot, booted under QEMU, must reach multi-user.target with no failed
// unit. forky's commit is the one booted here (the default trixie image is
// booted by test/oci/image.int.test.ts as an ordinary user, the rest of
// treefiles/ by test/treefiles/family.int.test.ts); the disk, refusal and
// interrupt tests use it too.
const REF = 'debian/14/amd64/minimal'
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

describe('vm boot', () => {
  test('the forky commit boots with / on composefs, no failed unit', async () => {
    const composed = await runCli(['compose', 'tree', 'treefiles/debian-forky-minimal.yaml', '--repo', repo, '--cachedir', cacheDir], {env: {CI: 'true'}})
    if (composed.exitCode !== 0) throw new Error(`compose failed:\n${composed.stderr}`)
    const booted = await runCli(['vm', 'boot', '--repo', repo, REF, '--cachedir', cacheDir, '--timeout', '900'])
    expect(booted.stderr).not.toMatch(/boot of .* failed/)
    expect(booted.exitCode).toBe(0)
    expect(booted.stdout).toMatch(/^reached multi-user\.target in \d+(\.\d)? s$/m)
    expect(booted.stdout).toContain('failed units: none')
    expect(booted.stdout).toContain('composefs on /: yes')
    expect(booted.stdout).toMatch(/kernel command line: .*ostree=\/ostree\/boot\.\d\/debian\//)
    // Boot hygiene: the journal's err-level lines are reported, and none is systemd-tmpfiles' (the /home, /srv, /root links).
    expect(booted.stdout).toMatch(/^err-level journal lines: /m)
    expect(booted.stdout).not.toMatch(/^ {2}systemd-tmpfiles: /m)
  })

  test('compose disk-image writes a qcow2 disk: an EFI partition with GRUB, the root with the deployment (vm upgrade boots such disks)', async () => {
    const disk = path.join(work, 'minimal.qcow2')
    const made = await runCli(['compose', 'disk-image', '--repo', repo, REF, '-o', disk, '--cachedir', cacheDir])
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
    await execa('ostree', ['checkout', `--repo=${repo}`, REF, tree])
    const {stdout: kernels} = await execa('sh', ['-c', `ls ${tree}/usr/lib/modules`])
    rmSync(path.join(tree, 'usr/lib/modules', kernels.trim(), 'initramfs.img'))
    await execa('ostree', ['init', `--repo=${broken}`, '--mode=bare-user'])
    await execa('ostree', ['commit', `--repo=${broken}`, '--branch=broken', `--tree=dir=${tree}`, `--add-metadata-string=ostree.linux=${kernels.trim()}`])
    const before = workDirs(cacheDir)
    const failed = await runCli(['vm', 'boot', '--repo', broken, 'broken', '--cachedir', cacheDir, '--timeout', '300'])
    expect(failed.exitCode).toBe(1)
    expect(failed.stderr.trim()).toBe(`broken: the commit has no initramfs (/usr/lib/modules/${kernels.trim()}/initramfs.img): ostree-prepare-root runs from it, so it cannot boot`)
    expect(workDirsSince(cacheDir, before)).toEqual([])
    await execa('ostree', ['commit', `--repo=${broken}`, '--branch=no-kernel', `--tree=dir=${tree}`])
    const noKernel = await runCli(['vm', 'boot', '--repo', broken, 'no-kernel', '--cachedir', cacheDir])
    expect([noKernel.exitCode, noKernel.stderr.trim()]).toEqual([1, 'no-kernel: the commit has no kernel (no ostree.linux metadata): nothing to boot'])
  })

  test('SIGINT mid-boot stops QEMU and leaves no work dir, mount or loop device', async () => {
    const before = workDirs(cacheDir)
    const child = execa('node', [path.join(repoRoot, 'bin/run.js'), 'vm', 'boot', '--repo', repo, REF, '--cachedir', cacheDir, '--console'], {reject: false})
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
    expect(workDirsSince(cacheDir, before)).toEqual([])
    expect((await execa('losetup', ['-a'])).stdout).not.toContain(cacheDir)
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(cacheDir)
  })

  test('a ref that does not exist is refused, nothing is left behind', async () => {
    const before = workDirs(cacheDir)
    const refused = await runCli(['vm', 'boot', '--repo', repo, 'debian/99/none', '--cachedir', cacheDir])
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr.trim()).toBe(`debian/99/none: no such ref or commit in ${repo}`)
    expect(workDirsSince(cacheDir, before)).toEqual([])
  })
})
