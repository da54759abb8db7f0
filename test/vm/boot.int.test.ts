import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, describe, expect, test} from 'vitest'
import {repoRoot, runCli, STACK_FRAME} from '../helpers/cli.js'
import {outputSchemaErrors} from '../helpers/output-schema.js'

// The boot test: each treefile's commit, deployed by the target's own ostree
// into a fresh sysroot, booted under QEMU, must reach multi-user.target with
// no failed unit.
const cacheDir = path.join(repoRoot, '.cache/test')
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-boot-'))
const repo = path.join(work, 'repo')
afterAll(() => rmSync(work, {recursive: true, force: true}))

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
  })

  test('the forky commit boots with / on composefs', async () => {
    const report = await composeAndBoot('treefiles/debian-forky-minimal.yaml', 'debian/14/amd64/minimal')
    expect(report).toMatch(/^reached multi-user\.target in /m)
    expect(report).toContain('failed units: none')
    expect(report).toContain('composefs on /: yes')
  })

  test('a UEFI disk image of the trixie commit boots under OVMF, without -kernel', async () => {
    const disk = path.join(work, 'minimal.qcow2')
    const made = await runCli(['compose', 'disk-image', '--repo', repo, 'debian/13/amd64/minimal', '-o', disk, '--cachedir', cacheDir])
    expect(made.stderr).not.toMatch(STACK_FRAME)
    expect(made.exitCode).toBe(0)
    expect(made.stderr).toMatch(/^disk: +\d+ MiB \(qcow2, \d+ MB on disk\)$/m)
    const {stdout: table} = await execa('qemu-img', ['info', disk])
    expect(table).toContain('file format: qcow2')
    const booted = await runCli(['vm', 'boot', disk, '--cachedir', cacheDir, '--timeout', '900', '--json', '--keep'])
    const report = JSON.parse(booted.stdout) as {reached: boolean; failedUnits: string[]; kernelCommandLine: string; seconds: number; command: string[]}
    expect(outputSchemaErrors('vm-boot', report)).toEqual([])
    expect([report.reached, report.failedUnits]).toEqual([true, []])
    // systemd-boot hands the kernel its initramfs from the EFI partition: the firmware booted it, not QEMU.
    expect(report.kernelCommandLine).toMatch(/^initrd=\\ostree\\debian-/)
    expect(booted.exitCode).toBe(0)
    // --keep: the command boots the same disk again, with the firmware variables it kept.
    expect(report.command).toContain(`file=${disk},format=qcow2,if=virtio,file.locking=off`)
    const vars = report.command.find((arg) => arg.startsWith('if=pflash,format=raw,unit=1,file='))!.split('file=')[1]
    expect(existsSync(vars) && vars.startsWith(path.join(cacheDir, 'vm'))).toBe(true)
    rmSync(path.dirname(vars), {recursive: true})
    console.info(`${made.stderr.match(/^disk:.*$/m)?.[0]}; reached multi-user.target in ${report.seconds} s`)
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
    const loops = (await execa('losetup', ['-a'])).stdout
    const mounts = readFileSync('/proc/mounts', 'utf8')
    const child = execa('node', [path.join(repoRoot, 'bin/run.js'), 'vm', 'boot', '--repo', repo, 'debian/13/amd64/minimal', '--cachedir', cacheDir, '--console'], {reject: false})
    await new Promise<void>((resolve) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        if (/Linux version/.test(chunk.toString())) resolve()
      })
    })
    child.kill('SIGINT')
    const result = await child
    expect(result.exitCode).toBe(130)
    expect(result.stderr).toMatch(/^interrupted by SIGINT$/m)
    expect((await execa('pgrep', ['-f', 'qemu-system-x86_64'], {reject: false})).stdout).toBe('')
    expect(readdirSync(path.join(cacheDir, 'work'))).toEqual([])
    expect((await execa('losetup', ['-a'])).stdout).toBe(loops)
    expect(readFileSync('/proc/mounts', 'utf8')).toBe(mounts)
  })

  test('a ref that does not exist is refused, nothing is left behind', async () => {
    const refused = await runCli(['vm', 'boot', '--repo', repo, 'debian/99/none', '--cachedir', cacheDir])
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr.trim()).toBe(`debian/99/none: no such ref or commit in ${repo}`)
    expect(existsSync(path.join(cacheDir, 'work')) ? readdirSync(path.join(cacheDir, 'work')) : []).toEqual([])
    expect((await execa('pgrep', ['-f', 'qemu-system-x86_64'], {reject: false})).stdout).toBe('')
  })
})
