import {describe, expect, test} from 'vitest'
import {parsePackageId, renderLockfile} from '../../src/compose/lockfile.js'
import {schemaErrors} from '../helpers/output-schema.js'

describe('lockfile', () => {
  test('package ids split at the first "=" and the last ":", so an epoch stays in the version', () => {
    expect(parsePackageId('base-files=13.8+deb13u1:amd64')).toEqual({name: 'base-files', version: '13.8+deb13u1', architecture: 'amd64'})
    expect(parsePackageId('libc6=1:2.41-12:amd64')).toEqual({name: 'libc6', version: '1:2.41-12', architecture: 'amd64'})
    for (const bad of ['base-files', '=1:amd64', 'x=:amd64', 'x=1:']) expect(() => parsePackageId(bad)).toThrow(/not a package id \(name=version:arch\)$/)
  })

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
