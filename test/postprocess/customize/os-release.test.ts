import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, expect, test} from 'vitest'
import type {StageContext} from '../../../src/compose/context.js'
import {mutateOsRelease} from '../../../src/postprocess/customize/os-release.js'

const TRIXIE = 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nVERSION_ID="13"\nVERSION="13 (trixie)"\nID=debian\n'
let root: string

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-os-release-'))
  mkdirSync(path.join(root, 'usr/lib'), {recursive: true})
  writeFileSync(path.join(root, 'usr/lib/os-release'), TRIXIE)
})
afterEach(() => rmSync(root, {recursive: true, force: true}))

const context = (needle?: string): StageContext => ({root, resolved: {treefile: {'mutate-os-release': needle}}} as unknown as StageContext)
const osRelease = (): string => readFileSync(path.join(root, 'usr/lib/os-release'), 'utf8')

test('puts the version into VERSION and PRETTY_NAME and appends OSTREE_VERSION', async () => {
  await mutateOsRelease(context('13'), '13.20261123.0')
  expect(osRelease()).toBe('PRETTY_NAME="Debian GNU/Linux 13.20261123.0 (trixie)"\nVERSION_ID="13"\nVERSION="13.20261123.0 (trixie)"\nID=debian\nOSTREE_VERSION=\'13.20261123.0\'\n')
})

test('leaves os-release alone without a version', async () => {
  await mutateOsRelease(context('13'), undefined)
  expect(osRelease()).toBe(TRIXIE)
})
