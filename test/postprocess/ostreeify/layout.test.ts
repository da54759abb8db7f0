import {execa} from 'execa'
import {chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, test} from 'vitest'
import {etcToUsrEtc, readonlyExecutables, specialFiles, treefileJson} from '../../../src/postprocess/ostreeify/cleanup.js'
import {dpkgDatabase} from '../../../src/postprocess/ostreeify/dpkg.js'
import {topLevel} from '../../../src/postprocess/ostreeify/toplevel.js'
import type {TreeStep} from '../../../src/postprocess/step.js'
import {fixtureContext} from '../../helpers/stage-context.js'

// Each ostreeify step on a small fixture tree, links a script could have
// planted included; outside files (in the scratch directory) stay untouched.
let scratch: string
let root: string
let outside: string

beforeEach(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-layout-'))
  root = path.join(scratch, 'tree')
  outside = path.join(scratch, 'outside')
  mkdirSync(outside)
  writeFileSync(path.join(outside, 'victim'), 'outside\n', {mode: 0o600})
  for (const directory of ['etc', 'usr/local/bin', 'var/lib/dpkg/info', 'var/lib/dpkg/triggers', 'var/lib/apt/lists/partial', 'var/cache/apt/archives', 'run/lock', 'tmp', 'boot', 'usr/bin', 'dev']) {
    mkdirSync(path.join(root, directory), {recursive: true})
  }
})
afterEach(() => rmSync(scratch, {recursive: true, force: true}))

async function runStep(step: TreeStep, keys: Record<string, unknown> = {}): Promise<string[]> {
  const fixture = await fixtureContext(root, keys)
  try {
    await step.run(fixture.context)
    return fixture.warnings
  } finally {
    await fixture.dispose()
  }
}

const at = (relative: string): string => path.join(root, relative)
const outsideUntouched = (): void => {
  expect(readFileSync(path.join(outside, 'victim'), 'utf8')).toBe('outside\n')
  expect(statSync(path.join(outside, 'victim')).mode & 0o7777).toBe(0o600)
}

describe('top-level layout', () => {
  test('state directories become links into /var with tmpfiles.d targets; /run is emptied; /ostree and /tmp', async () => {
    writeFileSync(at('run/lock/x'), '')
    await runStep(topLevel, {'opt-usrlocal': 'var', 'tmp-is-dir': false})
    expect(readlinkSync(at('home'))).toBe('var/home')
    expect(readlinkSync(at('root'))).toBe('var/roothome')
    expect(readlinkSync(at('usr/local'))).toBe('../var/usrlocal')
    expect(readlinkSync(at('ostree'))).toBe('sysroot/ostree')
    expect(readlinkSync(at('tmp'))).toBe('sysroot/tmp')
    expect(lstatSync(at('sysroot')).isDirectory()).toBe(true)
    expect(existsSync(at('run/lock'))).toBe(false)
    const conf = readFileSync(at('usr/lib/tmpfiles.d/apt-ostree-integration.conf'), 'utf8')
    expect(conf).toContain('d /var/roothome 0700 root root - -')
    expect(conf).toContain('d /var/usrlocal/bin 0755 root root - -')
  })

  test("packages' tmpfiles.d lines for a path that became a link are commented out; lines below it stay", async () => {
    mkdirSync(at('usr/lib/tmpfiles.d'), {recursive: true})
    writeFileSync(at('usr/lib/tmpfiles.d/home.conf'), 'Q /home 0755 - - -\nq /srv 0755 - - -\n')
    writeFileSync(at('usr/lib/tmpfiles.d/provision.conf'), 'd- /root :0700 root :root -\nd- /root/.ssh :0700 root :root -\n')
    writeFileSync(at('usr/lib/tmpfiles.d/other.conf'), 'd /var/lib/x 0755 - - -\n')
    await runStep(topLevel, {'tmp-is-dir': true})
    const home = readFileSync(at('usr/lib/tmpfiles.d/home.conf'), 'utf8').split('\n')
    expect(home.every((line) => line === '' || line.startsWith('# apt-ostree: '))).toBe(true)
    expect(readFileSync(at('usr/lib/tmpfiles.d/provision.conf'), 'utf8')).toMatch(/^# apt-ostree: \/root .*\nd- \/root\/\.ssh :0700 root :root -\n$/)
    expect(readFileSync(at('usr/lib/tmpfiles.d/other.conf'), 'utf8')).toBe('d /var/lib/x 0755 - - -\n')
  })

  test('an API directory a script made a link is made a directory again, the link not followed', async () => {
    rmSync(at('boot'), {recursive: true})
    symlinkSync(outside, at('boot'))
    rmSync(at('run'), {recursive: true})
    symlinkSync(outside, at('run'))
    await runStep(topLevel, {'tmp-is-dir': true})
    expect(lstatSync(at('boot')).isDirectory()).toBe(true)
    expect(lstatSync(at('run')).isDirectory()).toBe(true)
    expect(statSync(at('tmp')).mode & 0o7777).toBe(0o1777)
    outsideUntouched()
  })
})

describe('dpkg database to /usr', () => {
  test('moves the database, leaves a relative link for /var, drops locks, -old files and apt lists', async () => {
    for (const file of ['status', 'status-old', 'lock', 'lock-frontend', 'triggers/Lock', 'info/bash.list']) writeFileSync(at(`var/lib/dpkg/${file}`), 'x')
    writeFileSync(at('var/lib/apt/lists/deb.debian.org_dists_trixie_InRelease'), 'x')
    await runStep(dpkgDatabase)
    expect(existsSync(at('usr/share/dpkg/database/status'))).toBe(true)
    expect(existsSync(at('usr/share/dpkg/database/info/bash.list'))).toBe(true)
    for (const gone of ['status-old', 'lock', 'lock-frontend', 'triggers/Lock']) expect(existsSync(at(`usr/share/dpkg/database/${gone}`))).toBe(false)
    expect(readlinkSync(at('var/lib/dpkg'))).toBe('../../usr/share/dpkg/database')
    expect(existsSync(at('var/lib/apt/lists/deb.debian.org_dists_trixie_InRelease'))).toBe(false)
    expect(existsSync(at('var/lib/apt/lists/partial'))).toBe(true)
  })
})

describe('cleanup', () => {
  test('/etc to /usr/etc: lock and backup files go, machine-id is empty and read-only, a planted machine-id link is replaced', async () => {
    for (const file of ['passwd', 'passwd-', '.pwd.lock', 'shadow-']) writeFileSync(at(`etc/${file}`), 'x')
    writeFileSync(at('etc/hostname'), '')
    symlinkSync(path.join(outside, 'victim'), at('etc/machine-id'))
    await runStep(etcToUsrEtc)
    expect(existsSync(at('etc'))).toBe(false)
    expect(existsSync(at('usr/etc/passwd'))).toBe(true)
    for (const gone of ['passwd-', '.pwd.lock', 'shadow-', 'hostname']) expect(existsSync(at(`usr/etc/${gone}`))).toBe(false)
    expect(lstatSync(at('usr/etc/machine-id')).isFile()).toBe(true)
    expect(statSync(at('usr/etc/machine-id')).mode & 0o7777).toBe(0o444)
    expect(readFileSync(at('usr/etc/machine-id'), 'utf8')).toBe('')
    outsideUntouched()
  })

  test('treefile.json replaces a planted link', async () => {
    mkdirSync(at('usr/share/apt-ostree'), {recursive: true})
    symlinkSync(path.join(outside, 'victim'), at('usr/share/apt-ostree/treefile.json'))
    await runStep(treefileJson)
    expect(JSON.parse(readFileSync(at('usr/share/apt-ostree/treefile.json'), 'utf8')).ref).toBe('test/fixture')
    outsideUntouched()
  })

  test('device nodes are refused unless ignore-devices; FIFOs and sockets are dropped', async () => {
    await execa('mkfifo', [at('tmp/fifo')])
    await execa('mknod', [at('dev/null-copy'), 'c', '1', '3'])
    await expect(runStep(specialFiles, {'ignore-devices': false})).rejects.toThrow('device nodes in the tree and "ignore-devices: false": /dev/null-copy')
    expect(existsSync(at('tmp/fifo'))).toBe(false)
    await runStep(specialFiles, {'ignore-devices': true})
    expect(existsSync(at('dev/null-copy'))).toBe(false)
  })

  test('readonly-executables drops write bits of executables only, never through a link', async () => {
    writeFileSync(at('usr/bin/tool'), '#!/bin/sh\n')
    writeFileSync(at('usr/bin/data'), '')
    chmodSync(at('usr/bin/tool'), 0o775)
    chmodSync(at('usr/bin/data'), 0o664)
    symlinkSync(path.join(outside, 'victim'), at('usr/bin/link'))
    await runStep(readonlyExecutables, {'readonly-executables': true})
    expect(statSync(at('usr/bin/tool')).mode & 0o7777).toBe(0o555)
    expect(statSync(at('usr/bin/data')).mode & 0o7777).toBe(0o664)
    outsideUntouched()
  })
})
