import {execa, type ResultPromise} from 'execa'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {repoRoot, runCli, STACK_FRAME} from '../helpers/cli.js'
import {makeTestKey, type TestKey} from '../helpers/gpg.js'
import type {BuildDiff} from '../../src/compose/diff.js'
import {INITRAMFS, UNPACKAGED} from '../../src/oci/chunking.js'
import {fsckProblems} from '../helpers/ostree.js'
import {outputSchemaErrors} from '../helpers/output-schema.js'
import {workDirs, workDirsSince} from '../helpers/work-dirs.js'

// The life of an image after its first boot: v1 and v2 (one more package,
// one changed file) of the default treefile with a remote, signed with a key
// made here; a machine deployed from v1 upgrades to v2 and rolls back, twice,
// through its own boot loader; the published repo serves a static delta over
// HTTP; what the image's remote must refuse is refused.
const cacheDir = path.join(repoRoot, '.cache/test')
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-upgrade-'))
const repo = path.join(work, 'repo')
const REF = 'debian/13/amd64/minimal'
const env = {CI: 'true', SOURCE_DATE_EPOCH: '1767225600'}
let signer: TestKey
let stranger: TestKey
const commits: Record<'v1' | 'v2', string> = {v1: '', v2: ''}

function writeTreefiles(): void {
  mkdirSync(path.join(work, 'files'))
  writeFileSync(path.join(work, 'signer.asc'), signer.publicKey)
  const remote = 'remote:\n  name: updates\n  url: https://updates.example.invalid/repo\n  gpg-keys: [signer.asc]\n'
  writeFileSync(path.join(work, 'v1.yaml'), `include: ${path.join(repoRoot, 'treefiles/debian-trixie-minimal.yaml')}\n${remote}add-files:\n  - [files/greeting, /usr/share/apt-ostree-test/greeting]\n`)
  writeFileSync(path.join(work, 'v2.yaml'), `include: ${path.join(repoRoot, 'treefiles/debian-trixie-minimal.yaml')}\n${remote}packages: [hello]\nadd-files:\n  - [files/greeting, /usr/share/apt-ostree-test/greeting]\n`)
}

/** v2 is v1 with one more package, and one add-files source whose content changed. */
async function compose(version: 'v1' | 'v2'): Promise<string> {
  writeFileSync(path.join(work, 'files/greeting'), `${version}\n`)
  const composed = await runCli(['compose', 'tree', path.join(work, `${version}.yaml`), '--repo', repo, '--cachedir', cacheDir, '--gpg-sign', signer.fingerprint, '--gpg-homedir', signer.homedir, '--json'], {env})
  if (composed.exitCode !== 0) throw new Error(`compose ${version} failed:\n${composed.stderr}`)
  return (JSON.parse(composed.stdout) as {commit: string}).commit
}

beforeAll(async () => {
  signer = await makeTestKey(work, 'signer')
  stranger = await makeTestKey(work, 'stranger')
  writeTreefiles()
  commits.v1 = await compose('v1')
  commits.v2 = await compose('v2')
})
afterAll(async () => {
  try {
    // The published repo is whole (signatures, deltas and the test's own unsigned commit included).
    expect(await fsckProblems(repo)).toBeUndefined()
  } finally {
    await signer?.dispose()
    await stranger?.dispose()
    rmSync(work, {recursive: true, force: true})
  }
})

describe('publishing', () => {
  test('both commits are signed by the key, v2 is newer than v1, the repo has a signed summary and the delta v1 → v2', async () => {
    // One signature each, by the signer's key (the clients below verify them against the image's key).
    for (const commit of [commits.v1, commits.v2]) {
      const {stdout} = await execa('ostree', ['show', `--repo=${repo}`, commit])
      expect([...stdout.matchAll(/key ID ([0-9A-F]{16})/g)].map((match) => match[1])).toEqual([signer.fingerprint.slice(-16)])
    }
    const dates = await Promise.all([commits.v1, commits.v2].map(async (commit) => (await execa('ostree', ['show', `--repo=${repo}`, commit])).stdout.match(/^Date:\s+(.*)$/m)![1]))
    expect(Date.parse(dates[1].replace(' +0000', 'Z').replace(' ', 'T'))).toBeGreaterThan(Date.parse(dates[0].replace(' +0000', 'Z').replace(' ', 'T')))
    expect(existsSync(path.join(repo, 'summary.sig'))).toBe(true)
    expect((await execa('ostree', ['static-delta', 'list', `--repo=${repo}`])).stdout.trim()).toBe(`${commits.v1}-${commits.v2}`)
  })

  test('a rerun with the same inputs changes nothing in the repo: the same summary bytes', async () => {
    const before = (await execa('sha256sum', [path.join(repo, 'summary'), path.join(repo, 'summary.sig')])).stdout
    const again = await runCli(['compose', 'tree', path.join(work, 'v2.yaml'), '--repo', repo, '--cachedir', cacheDir, '--gpg-sign', signer.fingerprint, '--gpg-homedir', signer.homedir], {env})
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toContain('No apparent changes since previous commit')
    expect((await execa('sha256sum', [path.join(repo, 'summary'), path.join(repo, 'summary.sig')])).stdout).toBe(before)
  })

  test('a bad --gpg-sign fails before any work: one line, exit 2, no cache dir made', async () => {
    const untouched = path.join(work, 'untouched')
    const refused = await runCli(['compose', 'tree', path.join(work, 'v1.yaml'), '--repo', path.join(untouched, 'repo'), '--cachedir', path.join(untouched, 'cache'), '--gpg-sign', 'no-such-key@example.invalid', '--gpg-homedir', signer.homedir])
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(refused.stderr).toMatch(/^--gpg-sign no-such-key@example\.invalid: .*no secret key in .*signer/i)
    expect(refused.stderr).not.toMatch(STACK_FRAME)
    expect(existsSync(untouched)).toBe(false)
  })
})

describe('compose diff v1 v2', () => {
  test('names the added package and the changed file, and the image layers they change', async () => {
    const diffed = await runCli(['compose', 'diff', '--repo', repo, commits.v1, commits.v2, '--cachedir', cacheDir, '--json'])
    expect(diffed.exitCode, diffed.stderr).toBe(0)
    const diff = JSON.parse(diffed.stdout) as BuildDiff
    expect(outputSchemaErrors('compose-diff', diff)).toEqual([])
    expect(diff.packages).toEqual({added: [{name: 'hello', version: expect.any(String), architecture: 'amd64'}], removed: [], changed: []})
    expect(diff.inputs).toEqual({toolCode: false, files: {added: [], removed: [], changed: ['files/greeting']}, suites: {added: [], removed: [], changed: []}, extraMetadata: {added: [], removed: [], changed: []}})
    expect(diff.treefile).toEqual([{key: 'packages', added: ['hello'], removed: []}])
    // hello joins the layer kept for new packages, the greeting is content no package owns; no package's own layer changes.
    const components = diff.layers.changed.map((layer) => layer.components)
    expect(components).toEqual(expect.arrayContaining([expect.arrayContaining(['hello']), [UNPACKAGED]]))
    expect(components.flat().filter((name) => ![UNPACKAGED, INITRAMFS, 'hello'].includes(name))).toEqual([])
    const text = await runCli(['compose', 'diff', '--repo', repo, commits.v1, commits.v2, '--cachedir', cacheDir])
    expect(text.exitCode, text.stderr).toBe(0)
    console.log(text.stdout)
  })
})

describe('a machine deployed from v1', () => {
  test('vm upgrade: a plain ostree admin upgrade boots v2 through GRUB, /etc and /var kept, set-default 1 boots v1; twice', async () => {
    const before = workDirs(cacheDir)
    const checked = await runCli(['vm', 'upgrade', '--repo', repo, '--from', commits.v1, REF, '--cycles', '2', '--cachedir', cacheDir, '--json'])
    const report = JSON.parse(checked.stdout) as {ok: boolean; origin: string; steps: Array<{step: string; ok: boolean; seconds: number; commit?: string}>; errors: string[]}
    console.log(report.steps.map((step) => `${step.step}: ${step.seconds} s`).join('\n'))
    expect(report.origin).toBe(`updates:${REF}`)
    expect(report.steps.map((step) => [step.ok, step.commit])).toEqual([
      [true, commits.v1], [true, undefined], [true, commits.v2], [true, undefined], [true, commits.v1],
      [true, undefined], [true, commits.v2], [true, undefined], [true, commits.v1],
    ])
    expect(report.errors.filter((line) => /systemd-tmpfiles/.test(line))).toEqual([])
    expect(report.ok).toBe(true)
    expect(checked.exitCode).toBe(0)
    expect(workDirsSince(cacheDir, before)).toEqual([])
  })
})

describe('a client of the published repo, configured as the image configures its remote', () => {
  let server: ResultPromise | undefined
  let url = ''
  beforeAll(async () => {
    server = execa('python3', ['-u', '-m', 'http.server', '--bind', '127.0.0.1', '0', '--directory', repo], {reject: false})
    url = await new Promise<string>((resolve) => {
      server!.stdout!.on('data', (chunk: Buffer) => {
        const port = /port (\d+)/.exec(chunk.toString())?.[1]
        if (port) resolve(`http://127.0.0.1:${port}/`)
      })
    })
  })
  afterAll(() => {
    server?.kill()
  })

  /** A fresh client repo with the image's remote: its config from the commit, its key from the commit. */
  async function client(name: string, options: {summary: boolean}): Promise<(args: string[]) => Promise<{exitCode: number; output: string}>> {
    const clientRepo = path.join(work, name)
    const key = path.join(work, `${name}.asc`)
    writeFileSync(key, (await execa('ostree', ['cat', `--repo=${repo}`, commits.v1, '/usr/share/apt-ostree/remotes/updates/0-signer.asc'])).stdout + '\n')
    const conf = (await execa('ostree', ['cat', `--repo=${repo}`, commits.v1, '/usr/etc/ostree/remotes.d/updates.conf'])).stdout
    expect(conf).toMatch(/^gpg-verify=true$/m)
    await execa('ostree', ['init', `--repo=${clientRepo}`, '--mode=bare-user'])
    await execa('ostree', ['remote', 'add', `--repo=${clientRepo}`, '--set=gpg-verify=true', `--set=gpg-verify-summary=${options.summary}`, `--set=gpgkeypath=${key}`, 'updates', url])
    return async (args) => {
      const result = await execa('ostree', [...args, `--repo=${clientRepo}`], {reject: false, all: true})
      return {exitCode: result.exitCode ?? 1, output: result.all ?? ''}
    }
  }

  test('pulls v1, then v2 through the static delta; the bytes with and without it', async () => {
    const ostree = await client('with-delta', {summary: true})
    expect((await ostree(['pull', 'updates', commits.v1])).exitCode).toBe(0)
    const pulled = await ostree(['pull', 'updates', REF])
    expect(pulled.exitCode).toBe(0)
    expect(pulled.output).toMatch(/\d+ delta parts/)
    const plain = await client('without-delta', {summary: true})
    await plain(['pull', 'updates', commits.v1])
    const objects = await plain(['pull', '--disable-static-deltas', 'updates', REF])
    expect(objects.output).not.toMatch(/delta parts/)
    console.log(`v1 → v2 with the delta: ${pulled.output.split('\n').filter((line) => /transferred/.test(line)).at(-1)}; without: ${objects.output.split('\n').filter((line) => /transferred/.test(line)).at(-1)}`)
  })

  test('refuses an unsigned commit and one signed by another key', async () => {
    const ostree = await client('refusing', {summary: false})
    const unsigned = (await execa('ostree', ['commit', `--repo=${repo}`, '--branch=test/unsigned', `--tree=ref=${commits.v2}`])).stdout.trim()
    const refusedUnsigned = await ostree(['pull', 'updates', unsigned])
    expect(refusedUnsigned.exitCode).not.toBe(0)
    expect(refusedUnsigned.output).toMatch(/no signatures found/i)
    await execa('ostree', ['gpg-sign', `--repo=${repo}`, `--gpg-homedir=${stranger.homedir}`, unsigned, stranger.fingerprint])
    const refusedStranger = await ostree(['pull', 'updates', unsigned])
    expect(refusedStranger.exitCode).not.toBe(0)
    expect(refusedStranger.output).toMatch(/public key not found|no valid signatures/i)
  })
})
