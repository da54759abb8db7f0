import {existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, expect, test} from 'vitest'
import {addFiles, removeFiles, removeFromPackages} from '../../../src/postprocess/customize/files.js'
import {enableUnits, setDefaultTarget} from '../../../src/postprocess/customize/systemd.js'
import type {TreeStep} from '../../../src/postprocess/step.js'
import {fixtureContext} from '../../helpers/stage-context.js'

// The customize steps on a small fixture tree; what they are told to remove
// or write stays in the tree even through links a package planted.
let scratch: string
let root: string

beforeEach(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-customize-'))
  root = path.join(scratch, 'tree')
  for (const directory of ['etc/systemd/system', 'usr/lib/systemd/system', 'usr/share/doc/base-files', 'var/lib/dpkg/info']) mkdirSync(path.join(root, directory), {recursive: true})
  writeFileSync(path.join(scratch, 'outside'), 'outside\n')
})
afterEach(() => rmSync(scratch, {recursive: true, force: true}))

const at = (relative: string): string => path.join(root, relative)

async function runStep(step: TreeStep, keys: Record<string, unknown>, files: Record<string, string> = {}): Promise<string[]> {
  const fixture = await fixtureContext(root, keys, {files})
  try {
    await step.run(fixture.context)
    return fixture.warnings
  } finally {
    await fixture.dispose()
  }
}

test('remove-files removes recursively, and takes a link, never its target', async () => {
  mkdirSync(at('usr/share/doc/base-files/examples'))
  writeFileSync(at('usr/share/doc/base-files/examples/x'), '')
  symlinkSync(path.join(scratch, 'outside'), at('etc/issue.net'))
  await runStep(removeFiles, {'remove-files': ['usr/share/doc/base-files/examples', 'etc/issue.net']})
  expect(existsSync(at('usr/share/doc/base-files/examples'))).toBe(false)
  expect(existsSync(at('etc/issue.net'))).toBe(false)
  expect(readFileSync(path.join(scratch, 'outside'), 'utf8')).toBe('outside\n')
})

test('remove-from-packages removes what only that package owns, and names a package not installed', async () => {
  writeFileSync(at('usr/share/doc/base-files/README'), '')
  writeFileSync(at('usr/share/doc/base-files/shared'), '')
  writeFileSync(at('var/lib/dpkg/info/base-files.list'), '/usr/share/doc/base-files\n/usr/share/doc/base-files/README\n/usr/share/doc/base-files/shared\n')
  writeFileSync(at('var/lib/dpkg/info/other:amd64.list'), '/usr/share/doc/base-files/shared\n')
  await runStep(removeFromPackages, {'remove-from-packages': [['base-files', '^/usr/share/doc/']]})
  expect(existsSync(at('usr/share/doc/base-files/README'))).toBe(false)
  expect(existsSync(at('usr/share/doc/base-files/shared'))).toBe(true)
  expect(existsSync(at('usr/share/doc/base-files'))).toBe(true)
  const missing = runStep(removeFromPackages, {'remove-from-packages': [['no-such-package', '.']]})
  // At the treefile line that names the package.
  await expect(missing).rejects.toThrow(/treefile\.yaml:\d+:\d+: remove-from-packages: package "no-such-package" is not installed/)
})

test('add-files copies with the source\'s mode and replaces a link at the destination', async () => {
  symlinkSync(path.join(scratch, 'outside'), at('etc/motd'))
  await runStep(addFiles, {'add-files': [['motd.sh', '/etc/motd']]}, {'motd.sh': 'welcome\n'})
  expect(lstatSync(at('etc/motd')).isFile()).toBe(true)
  expect(readFileSync(at('etc/motd'), 'utf8')).toBe('welcome\n')
  expect(statSync(at('etc/motd')).mode & 0o7777).toBe(0o755)
  expect(readFileSync(path.join(scratch, 'outside'), 'utf8')).toBe('outside\n')
})

test('default-target links in /usr and drops an /etc override; a target not in the tree is named', async () => {
  writeFileSync(at('usr/lib/systemd/system/multi-user.target'), '')
  symlinkSync('/lib/systemd/system/graphical.target', at('etc/systemd/system/default.target'))
  await runStep(setDefaultTarget, {'default-target': 'multi-user.target'})
  expect(readlinkSync(at('usr/lib/systemd/system/default.target'))).toBe('multi-user.target')
  expect(existsSync(at('etc/systemd/system/default.target'))).toBe(false)
  await expect(runStep(setDefaultTarget, {'default-target': 'rescue.target'})).rejects.toThrow(/default-target rescue.target is not in the tree/)
})

test('units: one no package installs is named before systemctl runs', async () => {
  await expect(runStep(enableUnits, {units: ['fstrim.timer']})).rejects.toThrow(/unit fstrim.timer is not in the tree \(no package installs it\)/)
})
