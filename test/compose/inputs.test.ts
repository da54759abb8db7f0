import {execa} from 'execa'
import {mkdtempSync, rmSync} from 'node:fs'
import {mkdir, readFile, rename, rm, stat, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import {afterAll, expect, test} from 'vitest'
import {AptOstreeError} from '../../src/errors.js'
import {snapshotInputs} from '../../src/compose/inputs.js'
import {loadTreefile} from '../../src/treefile/index.js'
import type {ResolvedTreefile} from '../../src/treefile/types.js'

// The files a treefile names are copied once, from where they really are,
// which must still be inside the treefile's directory when they are read.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-inputs-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))

async function treefileNaming(name: string, source: string): Promise<{resolved: ResolvedTreefile; directory: string}> {
  const directory = path.join(work, name)
  await mkdir(path.join(directory, 'files'), {recursive: true})
  await writeFile(path.join(directory, 'files/motd'), 'welcome\n', {mode: 0o640})
  await writeFile(path.join(directory, 'treefile.yaml'), YAML.stringify({
    ref: 'test/inputs', container: true, packages: ['bash'],
    repos: [{name: 'debian', uris: ['http://deb.debian.org/debian'], suites: ['trixie'], trusted: true}],
    'add-files': [[source, '/etc/motd']],
  }))
  if (source !== 'files/motd') await symlink('motd', path.join(directory, source))
  return {resolved: await loadTreefile(path.join(directory, 'treefile.yaml'), {arch: 'amd64'}), directory}
}

const refusal = (promise: Promise<unknown>): Promise<string> => promise.then(() => 'accepted', (error: unknown) => {
  expect(error).toBeInstanceOf(AptOstreeError)
  return (error as Error).message
})

test('a file is copied with its mode; a link inside the directory is read through', async () => {
  const {resolved, directory} = await treefileNaming('plain', 'files/welcome')
  const inputs = await snapshotInputs(resolved, path.join(directory, 'copies'))
  const copy = inputs.copies.get(path.join(directory, 'files/welcome'))!
  expect(await readFile(copy, 'utf8')).toBe('welcome\n')
  expect((await stat(copy)).mode & 0o7777).toBe(0o640)
  expect(Object.keys(inputs.digests)).toEqual(['files/welcome'])
})

test('a file swapped for a link out of the directory after the check is refused, nothing of it copied', async () => {
  const {resolved, directory} = await treefileNaming('swapped', 'files/motd')
  await writeFile(path.join(work, 'host-secret'), 'secret\n')
  await rm(path.join(directory, 'files/motd'))
  await symlink(path.join(work, 'host-secret'), path.join(directory, 'files/motd'))
  expect(await refusal(snapshotInputs(resolved, path.join(directory, 'copies')))).toBe(`${path.join(directory, 'files/motd')}: what the treefile names now leads out of its directory (to ${path.join(work, 'host-secret')}); refused`)
})

test('a directory on the path swapped for a link is refused too', async () => {
  const {resolved, directory} = await treefileNaming('swapped-directory', 'files/motd')
  await mkdir(path.join(work, 'elsewhere'), {recursive: true})
  await writeFile(path.join(work, 'elsewhere/motd'), 'not yours\n')
  await rename(path.join(directory, 'files'), path.join(directory, 'files.old'))
  await symlink(path.join(work, 'elsewhere'), path.join(directory, 'files'))
  expect(await refusal(snapshotInputs(resolved, path.join(directory, 'copies')))).toMatch(/now leads out of its directory/)
})

test('a file swapped for a FIFO is refused without waiting for a writer', async () => {
  const {resolved, directory} = await treefileNaming('fifo', 'files/motd')
  await rm(path.join(directory, 'files/motd'))
  await execa('mkfifo', [path.join(directory, 'files/motd')])
  expect(await refusal(snapshotInputs(resolved, path.join(directory, 'copies')))).toBe(`${path.join(directory, 'files/motd')}: what the treefile names is no longer a regular file`)
})
