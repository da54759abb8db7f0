import {execa} from 'execa'
import {mkdtempSync, rmSync} from 'node:fs'
import {mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {AptOstreeError, TreefileError} from '../../src/errors.js'
import {snapshotInputs} from '../../src/compose/inputs.js'
import {loadTreefile} from '../../src/treefile/index.js'
import type {ResolvedTreefile} from '../../src/treefile/types.js'
import {makeTestKey, type TestKey} from '../helpers/gpg.js'

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

// A repo's keyring is read as root and its digest published: it must be in
// the treefile's directory or Debian's keyring directories, stay there until
// it is read, and be an OpenPGP keyring, armored or not.
describe('signed-by', () => {
  let key: TestKey
  let binary: Buffer
  beforeAll(async () => {
    key = await makeTestKey(work, 'archive-key')
    binary = Buffer.from((await execa('gpg', ['--homedir', key.homedir, '--export', key.fingerprint], {encoding: 'buffer', stripFinalNewline: false})).stdout)
  })
  afterAll(() => key.dispose())

  /** A treefile whose one repo is signed by SIGNEDBY, after KEYRINGS (name, bytes) were written beside it. */
  async function treefileSignedBy(name: string, signedBy: string, keyrings: Record<string, Buffer | string> = {}): Promise<{treefile: string; directory: string}> {
    const directory = path.join(work, name)
    await mkdir(directory, {recursive: true})
    for (const [file, bytes] of Object.entries(keyrings)) await writeFile(path.join(directory, file), bytes)
    const treefile = path.join(directory, 'treefile.yaml')
    await writeFile(treefile, YAML.stringify({
      ref: 'test/inputs', container: true, packages: ['bash'],
      repos: [{name: 'debian', uris: ['http://deb.debian.org/debian'], suites: ['trixie'], 'signed-by': signedBy}],
    }))
    return {treefile, directory}
  }

  test.each([
    ['binary', (): Buffer => binary],
    ['armored', (): string => key.publicKey],
  ])('a %s keyring beside the treefile is taken, its copy binary', async (form, bytes) => {
    const {treefile, directory} = await treefileSignedBy(`keyring-${form}`, 'keys/archive.gpg')
    await mkdir(path.join(directory, 'keys'))
    await writeFile(path.join(directory, 'keys/archive.gpg'), bytes())
    const resolved = await loadTreefile(treefile, {arch: 'amd64'})
    const inputs = await snapshotInputs(resolved, path.join(directory, 'copies'))
    expect(await readFile(inputs.copies.get(path.join(directory, 'keys/archive.gpg'))!)).toEqual(binary)
  })

  test("a keyring in Debian's keyring directory is taken", async () => {
    const {treefile, directory} = await treefileSignedBy('keyring-system', '/usr/share/keyrings/debian-archive-keyring.gpg')
    const inputs = await snapshotInputs(await loadTreefile(treefile, {arch: 'amd64'}), path.join(directory, 'copies'))
    expect(await readFile(inputs.copies.get('/usr/share/keyrings/debian-archive-keyring.gpg')!)).toEqual(await readFile('/usr/share/keyrings/debian-archive-keyring.gpg'))
  })

  test('a host file outside both is refused at its line, exit 2, before anything reads it', async () => {
    const {treefile} = await treefileSignedBy('keyring-passwd', '/etc/passwd')
    const error = await loadTreefile(treefile, {arch: 'amd64'}).then(() => undefined, (thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(TreefileError)
    expect((error as TreefileError).exitCode).toBe(2)
    expect((error as Error).message).toBe(`${path.relative(process.cwd(), treefile)}:11:16: keyring "/etc/passwd" of repo "debian" must be in the treefile's directory or in /usr/share/keyrings, /etc/apt/keyrings, /etc/apt/trusted.gpg.d`)
  })

  test('a text file beside the treefile is refused at its line, exit 2, no copy kept', async () => {
    const {treefile, directory} = await treefileSignedBy('keyring-text', 'shadow', {shadow: 'root:$6$salt$hash:19000:0:99999:7:::\n'})
    const resolved = await loadTreefile(treefile, {arch: 'amd64'})
    const error = await snapshotInputs(resolved, path.join(directory, 'copies')).then(() => undefined, (thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(AptOstreeError)
    expect((error as AptOstreeError).exitCode).toBe(2)
    expect((error as Error).message).toBe(`${path.relative(process.cwd(), treefile)}:11:16: keyring "shadow" of repo "debian" is not an OpenPGP keyring (gpg --export KEYID, armored or not)`)
    expect(await readdir(path.join(directory, 'copies'))).toEqual([])
  })

  test('a keyring swapped for a link out of its directory after the check is refused', async () => {
    const {treefile, directory} = await treefileSignedBy('keyring-swapped', 'archive.gpg', {'archive.gpg': binary})
    const resolved = await loadTreefile(treefile, {arch: 'amd64'})
    await rm(path.join(directory, 'archive.gpg'))
    await symlink('/etc/passwd', path.join(directory, 'archive.gpg'))
    expect(await refusal(snapshotInputs(resolved, path.join(directory, 'copies')))).toBe(`${path.join(directory, 'archive.gpg')}: what the treefile names now leads out of its directory (to /etc/passwd); refused`)
  })
})
