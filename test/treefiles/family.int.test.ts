import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {repoRoot, runCli} from '../helpers/cli.js'
import {fsckProblems, RepoReader} from '../helpers/ostree.js'
import {outputSchemaErrors} from '../helpers/output-schema.js'

// The treefiles/ family: each treefile no other integration test turns into
// an image is composed into an oci-archive that must pass `container lint`,
// boots clean (those no other test boots), and its commit must hold what the
// treefile promises. The shared test cache: forky's bootstrapped tree is
// test/vm/boot.int.test.ts's too.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-family-'))
const cacheDir = path.join(repoRoot, '.cache/test')
const repo = path.join(work, 'repo')
const env = {CI: 'true'}
afterAll(async () => {
  try {
    // Every repo these tests wrote is whole.
    expect(await fsckProblems(repo)).toBeUndefined()
  } finally {
    rmSync(work, {recursive: true, force: true})
  }
})

interface Composed {
  commit: string
  packages: string[]
  timings: Record<string, number>
  image: {manifestDigest: string; size: number; layers: unknown[]}
}

async function composeImage(name: string): Promise<{composed: Composed; archive: string}> {
  const archive = path.join(work, `${name}.ociarchive`)
  const start = performance.now()
  const result = await runCli(['compose', 'tree', `treefiles/${name}.yaml`, '--repo', repo, '--container', '-o', `oci-archive:${archive}`, '--cachedir', cacheDir, '--json'], {env})
  if (result.exitCode !== 0) throw new Error(`compose of ${name} failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`)
  const composed = JSON.parse(result.stdout) as Composed
  expect(outputSchemaErrors('compose-tree', composed)).toEqual([])
  const seconds = ((performance.now() - start) / 1000).toFixed(0)
  console.info(`${name}: ${seconds} s (${Object.entries(composed.timings).map(([stage, time]) => `${stage} ${time} s`).join(', ')}), ${composed.packages.length} packages, ${composed.image.layers.length} layers, ${(composed.image.size / 1e6).toFixed(1)} MB`)
  return {composed, archive}
}

/** vm boot of the commit: multi-user.target, no failed unit, no err-level line from systemd-tmpfiles (boot hygiene). */
async function expectCleanBoot(ref: string): Promise<void> {
  const booted = await runCli(['vm', 'boot', '--repo', repo, ref, '--cachedir', cacheDir, '--timeout', '900'])
  expect(booted.stdout).toMatch(/^reached multi-user\.target in /m)
  expect(booted.stdout).toContain('failed units: none')
  expect(booted.stdout).toMatch(/^err-level journal lines: /m)
  expect(booted.stdout).not.toMatch(/^ {2}systemd-tmpfiles: /m)
  expect(booted.exitCode, booted.stderr.slice(-3000)).toBe(0)
}

async function expectLintClean(archive: string): Promise<void> {
  const lint = await runCli(['container', 'lint', `oci-archive:${archive}`, '--json'])
  const report = JSON.parse(lint.stdout) as {findings: unknown[]; warnings: number; fatal: number; failed: number}
  expect(outputSchemaErrors('container-lint', report)).toEqual([])
  expect(report).toMatchObject({findings: [], warnings: 0, fatal: 0, failed: 0})
  expect(lint.exitCode).toBe(0)
}

test('every treefile is composed by an integration test', () => {
  const treefiles = readdirSync(path.join(repoRoot, 'treefiles')).filter((name) => name.endsWith('.yaml')).sort()
  // trixie-minimal: test/oci/image.int.test.ts (image, lint and boot);
  // forky-minimal is booted by test/vm/boot.int.test.ts but made into an image only here.
  expect(treefiles).toEqual(['debian-bookworm-minimal.yaml', 'debian-forky-minimal.yaml', 'debian-trixie-minimal.yaml', 'debian-trixie-server.yaml'])
})

describe('debian-trixie-server', () => {
  const tree = new RepoReader(repo, 'debian/13/amd64/server')
  let archive: string
  beforeAll(async () => {
    archive = (await composeImage('debian-trixie-server')).archive
  })

  test('its image passes container lint', () => expectLintClean(archive))

  test('it boots clean', () => expectCleanBoot('debian/13/amd64/server'))

  test('ssh and systemd-networkd are enabled', async () => {
    const wants = '/usr/etc/systemd/system/multi-user.target.wants'
    expect((await tree.stat(`${wants}/ssh.service`))?.target).toBe('/usr/lib/systemd/system/ssh.service')
    expect((await tree.stat(`${wants}/systemd-networkd.service`))?.target).toBe('/usr/lib/systemd/system/systemd-networkd.service')
    expect(await tree.cat('/usr/etc/systemd/network/20-wired.network')).toContain('DHCP=yes')
  })

  test('no ssh host keys ship: sshd-keygen makes each machine its own', async () => {
    expect((await tree.list('/usr/etc/ssh')).filter((file) => file.includes('ssh_host_'))).toEqual([])
    expect((await tree.stat('/usr/etc/systemd/system/ssh.service.wants/sshd-keygen.service'))?.target).toBe('/usr/lib/systemd/system/sshd-keygen.service')
    expect(await tree.cat('/usr/lib/systemd/system/sshd-keygen.service.d/machineid-compat.conf')).toMatch(/^ConditionFirstBoot=$/m)
  })

  test('systemd-sysusers makes the admin user, in group sudo, from the commit', async () => {
    // What the machine's systemd-sysusers.service does at boot, done by the
    // host's on the commit's /etc and sysusers.d.
    const root = path.join(work, 'sysusers-root')
    mkdirSync(path.join(root, 'usr/lib'), {recursive: true})
    await execa('ostree', [`--repo=${repo}`, 'checkout', '--subpath=/usr/etc', tree.ref, path.join(root, 'etc')])
    await execa('ostree', [`--repo=${repo}`, 'checkout', '--subpath=/usr/lib/sysusers.d', tree.ref, path.join(root, 'usr/lib/sysusers.d')])
    expect(readFileSync(path.join(root, 'etc/passwd'), 'utf8')).not.toMatch(/^admin:/m)
    await execa('systemd-sysusers', [`--root=${root}`])
    expect(readFileSync(path.join(root, 'etc/passwd'), 'utf8')).toMatch(/^admin:x:1000:1000:Administrator:\/var\/home\/admin:\/bin\/bash$/m)
    expect(readFileSync(path.join(root, 'etc/group'), 'utf8')).toMatch(/^sudo:x:27:admin$/m)
    expect(await tree.cat('/usr/lib/tmpfiles.d/admin.conf')).toMatch(/^d \/var\/home\/admin 0700 admin admin -$/m)
    expect((await tree.stat('/usr/etc/sudoers.d/admin'))?.mode).toBe('-00440')
  })
})

describe('debian-bookworm-minimal', () => {
  const tree = new RepoReader(repo, 'debian/12/amd64/minimal')
  let archive: string
  beforeAll(async () => {
    archive = (await composeImage('debian-bookworm-minimal')).archive
  })

  test('its image passes container lint', () => expectLintClean(archive))

  test('it boots clean', () => expectCleanBoot('debian/12/amd64/minimal'))

  test('Debian 12 with its 6.1 kernel, composefs off', async () => {
    const osRelease = await tree.cat('/usr/lib/os-release')
    expect(osRelease).toMatch(/^VERSION_ID="12"$/m)
    expect(osRelease).toMatch(/^VERSION_CODENAME=bookworm$/m)
    expect(osRelease).toMatch(/^VERSION="12\.\d{8}\.\d+ \(bookworm\)"$/m)
    expect(await tree.metadata('ostree.linux')).toMatch(/^'6\.1\.\d+-\d+-amd64'$/)
    expect(await tree.cat('/usr/lib/ostree/prepare-root.conf')).toMatch(/^\[composefs\]\nenabled = no$/m)
  })
})

describe('debian-forky-minimal', () => {
  let archive: string
  beforeAll(async () => {
    archive = (await composeImage('debian-forky-minimal')).archive
  })

  test('its image passes container lint', () => expectLintClean(archive))
})
