import {execa} from 'execa'
import {mkdtempSync, rmSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {fetchReleases, type ReleaseState} from '../../src/archive/releases.js'
import {AptOstreeError} from '../../src/errors.js'
import {CommandLog} from '../../src/tools/exec.js'
import {loadTreefile} from '../../src/treefile/index.js'
import {makeTestKey, type TestKey} from '../helpers/gpg.js'

// What an InRelease says is what its signature covers, as gpgv read it:
// text an attacker adds around the signed part (after the signature, behind
// a signature line only gpgv takes for one) must not reach the parsed
// release, while the InRelease itself is kept byte for byte. The archive is
// a directory (file://), the signature made and checked by the real gpg and
// gpgv with a key made for the test.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-releases-'))
let key: TestKey
let signed: string
const injected = ` ${'1'.repeat(64)} 99 main/binary-amd64/Packages.evil`
const RELEASE = ['Origin: apt-ostree tests', 'Suite: trixie', 'Date: Thu, 01 Jan 2026 00:00:00 UTC', 'Architectures: amd64', 'Components: main', 'SHA256:', ` ${'0'.repeat(64)} 10 main/binary-amd64/Packages`, ''].join('\n')

beforeAll(async () => {
  key = await makeTestKey(work, 'archive')
  signed = (await execa('gpg', ['--homedir', key.homedir, '--batch', '--clearsign'], {input: RELEASE, stripFinalNewline: false})).stdout
  await writeFile(path.join(work, 'keyring.gpg'), (await execa('gpg', ['--homedir', key.homedir, '--export', key.fingerprint], {encoding: 'buffer', stripFinalNewline: false})).stdout)
})
afterAll(async () => {
  await key.dispose()
  rmSync(work, {recursive: true, force: true})
})

/** The release of an archive whose one InRelease is TEXT, as fetchReleases reads it for a repo (signed by the test key unless TRUSTED): or the error's message. */
async function releaseOf(name: string, text: string, trusted = false): Promise<ReleaseState | string> {
  const directory = path.join(work, name)
  await mkdir(path.join(directory, 'archive/dists/trixie'), {recursive: true})
  await writeFile(path.join(directory, 'archive/dists/trixie/InRelease'), text)
  const treefile = path.join(work, `${name}.yaml`)
  await writeFile(treefile, [
    'ref: test/releases', 'container: true', 'packages: [bash]', 'repos:', '  - name: local',
    `    uris: ["file://${path.join(directory, 'archive')}"]`, '    suites: [trixie]', trusted ? '    trusted: true' : '    signed-by: keyring.gpg', '',
  ].join('\n'))
  const resolved = await loadTreefile(treefile, {arch: 'amd64'})
  const context = {log: new CommandLog(path.join(directory, 'commands.log')), signal: new AbortController().signal, progress: () => {}, warn: () => {}, scratch: directory}
  try {
    const [release] = await fetchReleases(resolved, {local: path.join(work, 'keyring.gpg')}, context)
    return release
  } catch (error) {
    expect(error).toBeInstanceOf(AptOstreeError)
    return (error as Error).message
  } finally {
    await context.log.close()
  }
}

const filesOf = (release: ReleaseState | string): string[] => (typeof release === 'string' ? [release] : [...release.info.files.keys()])

describe('a signed InRelease', () => {
  test('as signed: its files, and the text kept as served', async () => {
    const release = await releaseOf('as-signed', signed)
    expect(filesOf(release)).toEqual(['main/binary-amd64/Packages'])
    expect((release as ReleaseState).text).toBe(signed)
  })

  test.each([
    ['appended after the signature', () => `${signed}SHA256:\n${injected}\n`],
    // gpgv takes "-----BEGIN PGP SIGNATURE----- " (a trailing space) as the signature's start; a reader looking for the exact line reads on, into the signature and past it.
    ['behind a signature line only gpgv recognizes', () => `${signed.replace('\n-----BEGIN PGP SIGNATURE-----\n', '\n-----BEGIN PGP SIGNATURE----- \n')}SHA256:\n${injected}\n-----BEGIN PGP SIGNATURE-----\n`],
    ['behind a signature line with a carriage return', () => `${signed.replace('\n-----BEGIN PGP SIGNATURE-----\n', '\n-----BEGIN PGP SIGNATURE-----\r\n')}SHA256:\n${injected}\n-----BEGIN PGP SIGNATURE-----\n`],
  ])('unsigned text %s does not reach the release; the InRelease is kept as served', async (name, tampered) => {
    const text = tampered()
    const release = await releaseOf(name.replaceAll(' ', '-'), text)
    expect(filesOf(release)).toEqual(['main/binary-amd64/Packages'])
    expect((release as ReleaseState).text).toBe(text)
  })

  test('an armor header added before the signed part breaks the signature', async () => {
    const release = await releaseOf('armor-header', signed.replace(/^(Hash: \w+\n)/m, `$1SHA256:\n`))
    expect(release).toMatch(/armor-header\.yaml:5:5: repo "local": file:\/\/\S+\/InRelease has no good signature by keyring\.gpg: BAD signature by key [0-9A-F]{16}$/)
  })

  test('a signature by a key the keyring lacks is named by its key', async () => {
    const stranger = await makeTestKey(work, 'stranger')
    try {
      const text = (await execa('gpg', ['--homedir', stranger.homedir, '--batch', '--clearsign'], {input: RELEASE, stripFinalNewline: false})).stdout
      expect(await releaseOf('stranger', text)).toMatch(/has no good signature by \S+: signed by key [0-9A-F]{16}, which the keyring lacks$/)
    } finally {
      await stranger.dispose()
    }
  })
})

describe('a trusted repo, not checked', () => {
  test('an unsigned Release is read as it is', async () => {
    expect(filesOf(await releaseOf('unsigned', RELEASE, true))).toEqual(['main/binary-amd64/Packages'])
  })

  test('a clearsigned one is read from its signed part', async () => {
    const release = await releaseOf('trusted-signed', signed, true)
    expect(filesOf(release)).toEqual(['main/binary-amd64/Packages'])
    expect((release as ReleaseState).text).toBe(signed)
  })
})
