import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, test} from 'vitest'
import {loadLockfiles, lockDifferences, lockDigest, lockPreferences, renderLockfile} from '../../src/archive/lockfile.js'
import {UsageError} from '../../src/errors.js'
import {schemaErrors} from '../helpers/output-schema.js'

describe('lockfile', () => {
  test('its schema takes what renderLockfile writes, and refuses a digest that is not sha256', () => {
    const lockfile = {
      packages: {'base-files': {version: '13.8', architecture: 'amd64', digest: `sha256:${'a'.repeat(64)}`}},
      metadata: {archives: [{repo: 'debian', uri: 'http://deb.debian.org/debian', suite: 'trixie', inrelease: `sha256:${'b'.repeat(64)}`, date: '2026-11-30T20:14:57.000Z'}]},
    }
    expect(schemaErrors('lockfile', JSON.parse(renderLockfile(lockfile)))).toEqual([])
    expect(renderLockfile(lockfile).endsWith('}\n')).toBe(true)
    const bad = {...lockfile, packages: {'base-files': {...lockfile.packages['base-files'], digest: 'md5:0'}}}
    expect(schemaErrors('lockfile', bad)).toEqual(['/packages/base-files/digest must match pattern "^sha256:[0-9a-f]{64}$"'])
  })
})

describe('--lockfile', () => {
  const digest = `sha256:${'a'.repeat(64)}`
  const archive = {repo: 'debian', uri: 'http://deb.debian.org/debian', suite: 'trixie', inrelease: `sha256:${'b'.repeat(64)}`, date: '2026-11-30T20:14:57.000Z'}
  const lockfile = {
    packages: {
      'base-files': {version: '13.8', architecture: 'amd64', digest},
      adduser: {version: '3.152', architecture: 'all', digest},
    },
    metadata: {archives: [archive]},
  }
  const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-lockfile-'))
  afterAll(() => rmSync(work, {recursive: true, force: true}))
  const write = (name: string, text: string): string => {
    const file = path.join(work, name)
    writeFileSync(file, text)
    return file
  }

  test('holds every locked package at its version with apt preferences', () => {
    expect(lockPreferences(lockfile)).toBe('Package: base-files\nPin: version 13.8\nPin-Priority: 1001\n\nPackage: adduser\nPin: version 3.152\nPin-Priority: 1001\n')
  })

  test('names a locked version the repos no longer have; strict also what was added or is missing', () => {
    const resolved = [
      {name: 'base-files', version: '13.9', architecture: 'amd64'},
      {name: 'dash', version: '0.5.12-12', architecture: 'amd64'},
    ]
    expect(lockDifferences(resolved, lockfile, false)).toEqual(['base-files locked at 13.8, but the repos give 13.9 (they no longer have 13.8)'])
    expect(lockDifferences(resolved, lockfile, true)).toEqual([
      'base-files locked at 13.8, but the repos give 13.9 (they no longer have 13.8)',
      'dash 0.5.12-12 is not in the lockfile',
      'adduser 3.152 is in the lockfile but not in the resolved set (the repos no longer have it, or nothing needs it)',
    ])
    expect(lockDifferences([{name: 'base-files', version: '13.8', architecture: 'amd64'}, {name: 'adduser', version: '3.152', architecture: 'all'}], lockfile, true)).toEqual([])
  })

  test('later lockfiles win, package by package', async () => {
    const first = write('first.json', renderLockfile(lockfile))
    const second = write('second.json', renderLockfile({packages: {adduser: {version: '3.153', architecture: 'all', digest}}, metadata: {archives: [archive]}}))
    const merged = await loadLockfiles([first, second])
    expect(merged.packages).toEqual({adduser: {version: '3.153', architecture: 'all', digest}, 'base-files': lockfile.packages['base-files']})
    expect(merged.metadata.archives).toEqual([archive])
    expect(lockDigest(merged, false)).not.toBe(lockDigest(await loadLockfiles([first]), false))
    expect(lockDigest(merged, true)).not.toBe(lockDigest(merged, false))
  })

  test('a broken lockfile is one located usage error', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['syntax.json', '{\n  "packages": {,\n}', /^.*syntax\.json:2:\d+: not JSON \(/],
      ['version.json', renderLockfile({...lockfile, packages: {'base-files': {...lockfile.packages['base-files'], version: '13.8\nPin-Priority: -1'}}}), /version\.json:4:18: "packages\.base-files\.version" must match pattern/],
      ['missing.json', '{"packages": {}}', /missing\.json:1:1: the lockfile must have required property 'metadata'$/],
    ]
    for (const [name, text, message] of cases) {
      const failure = await loadLockfiles([write(name, text)]).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(UsageError)
      expect((failure as Error).message).toMatch(message)
      expect((failure as Error).message).not.toContain('\n')
    }
    await expect(loadLockfiles([path.join(work, 'absent.json')])).rejects.toThrow(/^--lockfile .*absent\.json: cannot read it \(ENOENT\)$/)
  })
})
