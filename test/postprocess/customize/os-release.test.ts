import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, expect, test} from 'vitest'
import {mutateOsRelease} from '../../../src/postprocess/customize/os-release.js'
import {fixtureContext} from '../../helpers/stage-context.js'

const TRIXIE = 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nVERSION_ID="13"\nVERSION="13 (trixie)"\nID=debian\n'
let root: string

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-os-release-'))
  mkdirSync(path.join(root, 'usr/lib'), {recursive: true})
  writeFileSync(path.join(root, 'usr/lib/os-release'), TRIXIE)
})
afterEach(() => rmSync(root, {recursive: true, force: true}))

const osRelease = (): string => readFileSync(path.join(root, 'usr/lib/os-release'), 'utf8')

test('puts the version into VERSION and PRETTY_NAME and appends OSTREE_VERSION', async () => {
  const fixture = await fixtureContext(root, {'mutate-os-release': '13'}, {version: '13.20261123.0'})
  await mutateOsRelease.run(fixture.context)
  await fixture.dispose()
  expect(osRelease()).toBe('PRETTY_NAME="Debian GNU/Linux 13.20261123.0 (trixie)"\nVERSION_ID="13"\nVERSION="13.20261123.0 (trixie)"\nID=debian\nOSTREE_VERSION=\'13.20261123.0\'\n')
})

test('leaves os-release alone without a version', async () => {
  const fixture = await fixtureContext(root, {'mutate-os-release': '13'})
  await mutateOsRelease.run(fixture.context)
  await fixture.dispose()
  expect(osRelease()).toBe(TRIXIE)
})
