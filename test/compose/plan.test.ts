import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import type {ReleaseState} from '../../src/archive/releases.js'
import {nextVersion, plan, type PlanInputs} from '../../src/compose/plan.js'
import {loadTreefile} from '../../src/treefile/index.js'

// The plan is a pure function of what was gathered: fake inputs, no I/O.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-plan-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))

const release = (date: number, digest = 'a'.repeat(64)): ReleaseState => ({
  repo: 'debian', repoIndex: 0, uri: 'http://deb.debian.org/debian', uriIndex: 0, suite: 'trixie',
  url: 'http://deb.debian.org/debian/dists/trixie/InRelease', source: 'http://deb.debian.org/debian', text: '', sha256: digest, date,
  info: {date, byHash: true, files: new Map(), architectures: ['amd64'], components: ['main'], allInArchIndices: false},
})

let inputs: PlanInputs
beforeAll(async () => {
  const treefile = path.join(work, 'treefile.yaml')
  writeFileSync(treefile, 'ref: test/plan\ncontainer: true\nautomatic-version-prefix: "13.<date:%Y%m%d>"\nrepos: [{name: debian, uris: ["http://deb.debian.org/debian"], suites: [trixie], trusted: true}]\npackages: [systemd]\npostprocess: ["true"]\n')
  inputs = {
    resolved: await loadTreefile(treefile, {arch: 'amd64'}),
    fileDigests: {},
    releases: [release(1767225600)],
    extraMetadata: {},
    toolVersion: '1.0.0',
    toolCode: 'c'.repeat(64),
    now: new Date('2026-12-01T10:00:00Z'),
    forceNocache: false,
  }
})

describe('plan', () => {
  test('the first build: version prefix.0, timestamp the newest InRelease Date, a new input hash', () => {
    const first = plan({...inputs, releases: [release(1767225600), release(1767225000)]})
    expect(first).toMatchObject({ref: 'test/plan', version: '13.20261201.0', sourceDateEpoch: 1767225600, timestamp: 1767225600, unchanged: false})
    expect(first.inputHash).toMatch(/^[0-9a-f]{64}$/)
  })

  test('the same inputs on the parent: unchanged, its version kept; --force-nocache builds anyway', () => {
    const first = plan(inputs)
    const parent = {commit: 'c'.repeat(64), timestamp: first.timestamp, version: first.version, inputHash: first.inputHash, packages: []}
    expect(plan({...inputs, parent})).toMatchObject({unchanged: true, version: '13.20261201.0', parent})
    expect(plan({...inputs, parent, forceNocache: true})).toMatchObject({unchanged: false, version: '13.20261201.1'})
  })

  test('a rebuild on the same archive state is one second newer than its parent, the same on every rerun; a newer archive state gives its own date', () => {
    const first = plan(inputs)
    const parent = {commit: 'c'.repeat(64), timestamp: first.timestamp, version: first.version, inputHash: 'other', packages: []}
    const second = plan({...inputs, parent, extraMetadata: {note: 'x'}})
    expect(second).toMatchObject({timestamp: first.timestamp + 1, sourceDateEpoch: first.sourceDateEpoch})
    expect(plan({...inputs, parent, extraMetadata: {note: 'x'}}).timestamp).toBe(second.timestamp)
    expect(plan({...inputs, parent: {...parent, timestamp: first.timestamp + 500}}).timestamp).toBe(first.timestamp + 501)
    expect(plan({...inputs, parent: {...parent, timestamp: first.timestamp - 500}}).timestamp).toBe(first.timestamp)
  })

  test('what the bootstrapped tree depends on: a script change keeps the bootstrap hash, a new InRelease does not', async () => {
    const first = plan(inputs)
    const script = path.join(work, 'script.yaml')
    writeFileSync(script, 'ref: test/plan\ncontainer: true\nautomatic-version-prefix: "13.<date:%Y%m%d>"\nrepos: [{name: debian, uris: ["http://deb.debian.org/debian"], suites: [trixie], trusted: true}]\npackages: [systemd]\npostprocess: ["echo changed"]\n')
    const changedScript = plan({...inputs, resolved: await loadTreefile(script, {arch: 'amd64'})})
    expect(changedScript.inputHash).not.toBe(first.inputHash)
    expect(changedScript.bootstrapHash).toBe(first.bootstrapHash)
    const newArchive = plan({...inputs, releases: [release(1767225600, 'b'.repeat(64))]})
    expect(newArchive.bootstrapHash).not.toBe(first.bootstrapHash)
    expect(plan({...inputs, sourceDateEpoch: 1}).inputHash).not.toBe(first.inputHash)
    expect(plan({...inputs, toolVersion: '1.0.1'}).inputHash).not.toBe(first.inputHash)
    // Changed code at the same version is another tool; the cached bootstrapped tree, checked by its digest, stays.
    const changedCode = plan({...inputs, toolCode: 'd'.repeat(64)})
    expect(changedCode.inputHash).not.toBe(first.inputHash)
    expect(changedCode.bootstrapHash).toBe(first.bootstrapHash)
  })

  test('--add-metadata-string version=... wins over the automatic version', () => {
    expect(plan({...inputs, extraMetadata: {version: '42'}}).version).toBe('42')
  })
})

describe('nextVersion (rpm-ostree\'s automatic versions)', () => {
  const now = new Date('2026-12-01T10:00:00Z')
  test.each([
    ['13', undefined, '13'],
    ['13', '13', '13.1'],
    ['13', '13.1', '13.2'],
    ['13', '12.7', '13'],
    ['13.<date:%Y%m%d>', undefined, '13.20261201.0'],
    ['13.<date:%Y%m%d>', '13.20261201.0', '13.20261201.1'],
    ['13.<date:%Y%m%d>', '13.20261130.4', '13.20261201.0'],
  ])('prefix %s after %s: %s', (prefix, previous, expected) => {
    expect(nextVersion(prefix, '.', previous, now)).toBe(expected)
  })

  test('a longer suffix counts as well; no prefix, no version', () => {
    expect(nextVersion('13', '-r', '13-r4', now)).toBe('13-r5')
    expect(nextVersion(undefined, '.', '13', now)).toBeUndefined()
  })
})
