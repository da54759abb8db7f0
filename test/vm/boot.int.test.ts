import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, describe, expect, test} from 'vitest'
import {repoRoot, runCli} from '../helpers/cli.js'

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

  test('a ref that does not exist is refused, nothing is left behind', async () => {
    const refused = await runCli(['vm', 'boot', '--repo', repo, 'debian/99/none', '--cachedir', cacheDir])
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr.trim()).toBe(`debian/99/none: no such ref or commit in ${repo}`)
    expect(existsSync(path.join(cacheDir, 'work')) ? readdirSync(path.join(cacheDir, 'work')) : []).toEqual([])
    expect((await execa('pgrep', ['-f', 'qemu-system-x86_64'], {reject: false})).stdout).toBe('')
  })
})
