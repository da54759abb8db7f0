import {createHash} from 'node:crypto'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {mkdir, readFile, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {gzipSync} from 'node:zlib'
import {afterAll, describe, expect, test} from 'vitest'
import {ArchiveStore, describePackages, indexFilesOf, writeLocalArchive, type IndexFile} from '../../src/archive/capture.js'
import {AptOstreeError} from '../../src/errors.js'
import type {ReleaseState} from '../../src/archive/releases.js'
import {quoted} from '../../src/text.js'

// A Packages index is the archive's word, not the tool's: its Filename and
// SHA256 become paths (the local archive's pool, the store), so a hostile
// one must be refused before any of it reaches the host. Each case writes a
// real gzipped index into a real store and goes the way a bootstrap goes:
// describePackages, then writeLocalArchive.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-capture-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex')
const deb = Buffer.from('!<arch>\na .deb, as far as this test cares\n')

const release = (components: string[] = ['main']): ReleaseState => ({
  repo: 'debian', repoIndex: 0, uri: 'http://deb.debian.org/debian', uriIndex: 0, suite: 'trixie',
  url: 'http://deb.debian.org/debian/dists/trixie/InRelease', source: 'http://deb.debian.org/debian', text: '', sha256: 'a'.repeat(64), date: 0,
  info: {date: 0, byHash: false, files: new Map(components.map((component) => [`${component}/binary-amd64/Packages.gz`, {sha256: 'b'.repeat(64), size: 1}])), architectures: ['amd64'], components, allInArchIndices: true},
})

/** A case's directory: a store holding the .deb and a gzipped index of STANZA, an archive to write, and a host file beside them. */
async function setUp(name: string, stanza: Record<string, string>): Promise<{store: ArchiveStore; index: IndexFile; archive: string; directory: string}> {
  const directory = path.join(work, name)
  const store = new ArchiveStore(path.join(directory, 'store'))
  await mkdir(path.join(store.directory, 'sha256'), {recursive: true})
  await writeFile(path.join(store.directory, 'sha256', sha256(deb)), deb)
  const packages = gzipSync(Object.entries({Package: 'libc6', Version: '2.41-12', Architecture: 'amd64', ...stanza}).map(([key, value]) => `${key}: ${value}\n`).join('') + 'Description: GNU C Library\n\n')
  await writeFile(path.join(store.directory, 'sha256', sha256(packages)), packages)
  await writeFile(path.join(directory, 'host-file'), 'a host file\n')
  const index = {release: release(), path: 'main/binary-amd64/Packages.gz', file: {sha256: sha256(packages), size: packages.length}}
  return {store, index, archive: path.join(directory, 'archive'), directory}
}

/** describePackages then writeLocalArchive, as the bootstrap runs them: the error's message, or "accepted". */
async function bootstrapArchive({store, index, archive}: Awaited<ReturnType<typeof setUp>>): Promise<string> {
  try {
    const packages = await describePackages([index], store, [{name: 'libc6', version: '2.41-12', architecture: 'amd64'}])
    await writeLocalArchive(archive, [], [], packages, store)
    return 'accepted'
  } catch (error) {
    expect(error).toBeInstanceOf(AptOstreeError)
    return (error as Error).message
  }
}

describe('a Packages index', () => {
  test.each([
    ['pool/main/g/glibc/libc6_2.41-12_amd64.deb'],
    ['pool/main/g/gcc-14/libstdc++6_14.2.0-19_amd64.deb'],
    ['pool/main/e/e2fsprogs/e2fsprogs_1.47.2~rc1-2_amd64.deb'],
  ])('a real pool path %s: the .deb is placed there', async (filename) => {
    const setup = await setUp(`good-${sha256(filename).slice(0, 8)}`, {Filename: filename, Size: String(deb.length), SHA256: sha256(deb)})
    expect(await bootstrapArchive(setup)).toBe('accepted')
    expect(await readFile(path.join(setup.archive, 'debian-0', filename))).toEqual(deb)
  })

  test('a Filename that climbs out of the archive is refused; the host file it names is untouched', async () => {
    const setup = await setUp('filename-dotdot', {Filename: '../../host-file', Size: String(deb.length), SHA256: sha256(deb)})
    const before = await stat(path.join(setup.directory, 'host-file'))
    expect(await bootstrapArchive(setup)).toBe('repo "debian": index trixie/main/binary-amd64/Packages.gz: package "libc6": Filename "../../host-file" is not a path below the archive')
    const after = await stat(path.join(setup.directory, 'host-file'))
    expect(await readFile(path.join(setup.directory, 'host-file'), 'utf8')).toBe('a host file\n')
    expect([after.ino, after.mtimeMs, after.nlink]).toEqual([before.ino, before.mtimeMs, before.nlink])
    expect(existsSync(setup.archive)).toBe(false)
  })

  test('a SHA256 that names a host file as the .deb is refused; nothing of it reaches the archive', async () => {
    const setup = await setUp('sha256-dotdot', {Filename: 'pool/main/g/glibc/libc6_2.41-12_amd64.deb', Size: '12', SHA256: '../../host-file'})
    expect(await bootstrapArchive(setup)).toBe('repo "debian": index trixie/main/binary-amd64/Packages.gz: package "libc6": SHA256 "../../host-file" is not a SHA256 digest (64 lowercase hex digits)')
    expect(existsSync(setup.archive)).toBe(false)
    expect((await stat(path.join(setup.directory, 'host-file'))).nlink).toBe(1)
  })

  test.each([
    ['an absolute Filename', {Filename: '/etc/passwd'}, 'Filename "/etc/passwd" is not a path below the archive'],
    ['a Filename with an empty part', {Filename: 'pool//libc6.deb'}, 'Filename "pool//libc6.deb" is not a path below the archive'],
    ['a Filename with a "." part', {Filename: 'pool/./libc6.deb'}, 'Filename "pool/./libc6.deb" is not a path below the archive'],
    ['a Filename with a backslash', {Filename: 'pool\\..\\libc6.deb'}, 'Filename "pool\\\\..\\\\libc6.deb" is not a path below the archive'],
    ['a Filename with white space', {Filename: 'pool/lib c6.deb'}, 'Filename "pool/lib c6.deb" is not a path below the archive'],
    ['a Filename with an escape', {Filename: 'pool/\x1b[2Jlibc6.deb'}, 'Filename "pool/\\u001b[2Jlibc6.deb" is not a path below the archive'],
    ['an upper-case SHA256', {SHA256: sha256(deb).toUpperCase()}, `SHA256 ${quoted(sha256(deb).toUpperCase())} is not a SHA256 digest (64 lowercase hex digits)`],
    ['a Size that is no number', {Size: '12e3'}, 'Size "12e3" is not a size in bytes'],
    ['no SHA256', {SHA256: undefined}, 'has no SHA256 field'],
  ])('%s is refused', async (name, fields, problem) => {
    const stanza = Object.fromEntries(Object.entries({Filename: 'pool/main/g/glibc/libc6_2.41-12_amd64.deb', Size: String(deb.length), SHA256: sha256(deb), ...fields}).filter((entry): entry is [string, string] => entry[1] !== undefined))
    const setup = await setUp(`refused-${sha256(name).slice(0, 8)}`, stanza)
    expect(await bootstrapArchive(setup)).toBe(`repo "debian": index trixie/main/binary-amd64/Packages.gz: package "libc6": ${problem}`)
    expect(existsSync(setup.archive)).toBe(false)
  })
})

describe('the archive store', () => {
  test('turns nothing but a digest into a path', () => {
    const store = new ArchiveStore(path.join(work, 'store'))
    expect(store.pathOf('c'.repeat(64))).toBe(path.join(work, 'store/sha256', 'c'.repeat(64)))
    expect(() => store.pathOf('../../host-file')).toThrow('the archive store keeps files by digest: SHA256 "../../host-file" is not a SHA256 digest (64 lowercase hex digits)')
    expect(() => store.pathOf('')).toThrow(AptOstreeError)
  })
})

describe('indexFilesOf', () => {
  test('refuses a component that would leave dists/SUITE', () => {
    expect(indexFilesOf(release(['main']), ['main'], 'amd64').map((index) => index.path)).toEqual(['main/binary-amd64/Packages.gz'])
    expect(() => indexFilesOf(release(['../../x']), ['../../x'], 'amd64')).toThrow('repo "debian": component "../../x" is not a component name (letters, digits, . _ - in /-separated parts)')
  })
})
