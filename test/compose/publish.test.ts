import {execa} from 'execa'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {checkSigning, publishCommit} from '../../src/compose/publish.js'
import {UsageError} from '../../src/errors.js'
import {OstreeRepo} from '../../src/tools/ostree.js'
import {makeTestKey, type TestKey} from '../helpers/gpg.js'

// Signing and publishing on a small archive repo with the host's ostree and gpg.
let work: string
let key: TestKey
let publicOnly: string
beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-publish-'))
  key = await makeTestKey(work, 'signer')
  publicOnly = path.join(work, 'public-only')
  mkdirSync(publicOnly, {mode: 0o700})
  writeFileSync(path.join(work, 'signer.asc'), key.publicKey)
  await execa('gpg', ['--homedir', publicOnly, '--batch', '--import', path.join(work, 'signer.asc')])
})
afterAll(async () => {
  await key.dispose()
  await execa('gpgconf', ['--homedir', publicOnly, '--kill', 'gpg-agent'], {reject: false})
  rmSync(work, {recursive: true, force: true})
})

const refusal = (promise: Promise<unknown>): Promise<string> => promise.then(() => 'accepted', (error: unknown) => (error instanceof UsageError ? error.message : `not a usage error: ${String(error)}`))

describe('checkSigning, before any work', () => {
  test('refuses signing without --repo, a homedir that is not there, a key without its secret part, an unknown key', async () => {
    const gpg = (keyId: string, homedir?: string) => ({kind: 'gpg' as const, keyId, homedir})
    expect(await refusal(checkSigning(gpg(key.fingerprint, key.homedir), undefined))).toMatch(/^--gpg-sign \w+ needs --repo/)
    expect(await refusal(checkSigning(gpg(key.fingerprint, path.join(work, 'nowhere')), 'repo'))).toMatch(/--gpg-homedir .*nowhere: no such directory$/)
    expect(await refusal(checkSigning(gpg(key.fingerprint, publicOnly), 'repo'))).toMatch(/no secret key in .*public-only/i)
    expect(await refusal(checkSigning(gpg('0000000000000000', key.homedir), 'repo'))).toMatch(/^--gpg-sign 0000000000000000: .* in /)
    expect(await refusal(checkSigning(gpg(key.fingerprint, key.homedir), 'repo'))).toBe('accepted')
  })

  test('a key it accepts comes back with its fingerprint, what the signatures name', async () => {
    const keyId = key.fingerprint.slice(-16)
    expect(await checkSigning({kind: 'gpg', keyId, homedir: key.homedir}, 'repo')).toEqual({kind: 'gpg', keyId, homedir: key.homedir, fingerprint: key.fingerprint})
  })

  test('ed25519 is refused where the host\'s ostree lacks it, naming its version', async () => {
    const {features} = await OstreeRepo.features()
    const result = await refusal(checkSigning({kind: 'ed25519', keyFile: path.join(work, 'none')}, 'repo'))
    if (features.includes('sign-ed25519')) expect(result).toMatch(/--sign-key .*: no such file/)
    else expect(result).toMatch(/^--sign-type ed25519: this host's ostree \S+ is built without sign-ed25519/)
  })
})

describe('publishCommit on an archive repo', () => {
  test('signs once, moves the ref, writes a delta from the parent, drops deltas to commits no ref points at, signs the summary', async () => {
    const repo = new OstreeRepo(path.join(work, 'repo'))
    await repo.init('archive')
    const tree = path.join(work, 'tree')
    mkdirSync(tree)
    const commits: string[] = []
    for (const content of ['one', 'two', 'three']) {
      writeFileSync(path.join(tree, 'file'), content)
      commits.push(await repo.commit({tree, parent: commits.at(-1), timestamp: 1767225600 + commits.length}))
    }
    const signing = {kind: 'gpg' as const, keyId: key.fingerprint, homedir: key.homedir, fingerprint: key.fingerprint}
    const run = {progress: () => undefined}
    await publishCommit(repo, {ref: 'test/ref', commit: commits[1], parent: commits[0]}, {signing, staticDelta: true}, run)
    await publishCommit(repo, {ref: 'test/ref', commit: commits[2], parent: commits[1]}, {signing, staticDelta: true}, run)
    await publishCommit(repo, {ref: 'test/ref', commit: commits[2], parent: commits[1]}, {signing, staticDelta: true}, run)
    expect(await repo.gpgSignatureKeys(commits[2])).toEqual([key.fingerprint.slice(-16)])
    expect(await repo.resolve('test/ref')).toBe(commits[2])
    expect((await repo.staticDeltas()).map((delta) => delta.name)).toEqual([`${commits[1]}-${commits[2]}`])
    const summary = await execa('ostree', ['summary', `--repo=${repo.path}`, '--view'])
    expect(summary.stdout).toContain(commits[2])
    expect(readFileSync(path.join(repo.path, 'summary.sig')).length).toBeGreaterThan(0)
  })

  test('--no-static-delta writes none; a bare-user repo gets the signature only', async () => {
    const repo = new OstreeRepo(path.join(work, 'bare'))
    await repo.init('bare-user')
    const tree = path.join(work, 'tree2')
    mkdirSync(tree)
    writeFileSync(path.join(tree, 'file'), 'x')
    const first = await repo.commit({tree, branch: 'r'})
    writeFileSync(path.join(tree, 'file'), 'y')
    const second = await repo.commit({tree, branch: 'r', parent: first})
    await publishCommit(repo, {ref: 'r', commit: second, parent: first}, {signing: {kind: 'gpg', keyId: key.fingerprint, homedir: key.homedir, fingerprint: key.fingerprint}, staticDelta: false}, {progress: () => undefined})
    expect(await repo.gpgSignatureKeys(second)).toHaveLength(1)
    expect(await repo.staticDeltas()).toEqual([])
  })
})
