import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, expect, test} from 'vitest'
import {AptOstreeError, UsageError} from '../../src/errors.js'
import {treeFromImage} from '../../src/lint/load.js'
import {runLint} from '../../src/lint/run.js'
import type {FileTree} from '../../src/file-tree.js'
import {gzip, refusal, tarOf, writeArchive, writeLayout, zstd} from './oci-fixture.js'

let work: string
let layout: string
let archive: string

/**
 * Three layers, one per compression: the first as an ostree-encapsulated
 * layer writes it (/etc/group a hard link to a repo object), the second
 * deletes and makes a directory opaque, the third has no parent entries.
 */
beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-lint-image-'))
  layout = path.join(work, 'layout')
  archive = path.join(work, 'image.ociarchive')
  const base = await tarOf([
    {name: 'etc', type: 'directory'},
    {name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n'},
    {name: 'sysroot/ostree/repo/objects/ab/cdef.file', content: 'root:x:0:\n'},
    {name: 'etc/group', type: 'link', linkname: 'sysroot/ostree/repo/objects/ab/cdef.file'},
    {name: 'usr/lib/old.txt', content: 'old'},
    {name: 'usr/share/doc/a', content: 'a'},
    {name: 'usr/share/doc/b', content: 'b'},
    {name: './var/run', type: 'symlink', linkname: '../run'},
  ])
  const update = await tarOf([
    {name: 'usr/lib/.wh.old.txt'},
    {name: 'usr/share/doc/.wh..wh..opq'},
    {name: 'usr/share/doc/c', content: 'c'},
    {name: 'etc/hostname'},
  ])
  const extra = await tarOf([{name: 'opt/app/bin/app', content: 'ELF', mode: 0o755}])
  writeLayout(layout, [gzip(base), await zstd(update), extra], 'v1')
  await writeArchive(layout, archive)
})
afterAll(() => rmSync(work, {recursive: true, force: true}))

const shape = (tree: FileTree): Array<[string, string, number, string | undefined]> => [...tree].map(([key, entry]) => [key, entry.type, entry.size, entry.target]).sort() as Array<[string, string, number, string | undefined]>

test('an oci: layout reads as its layers applied in order', async () => {
  const tree = await treeFromImage(`oci:${layout}:v1`)
  expect([...tree.keys()].sort()).toEqual(
    [
      '/',
      '/etc',
      '/etc/group',
      '/etc/hostname',
      '/etc/passwd',
      '/opt',
      '/opt/app',
      '/opt/app/bin',
      '/opt/app/bin/app',
      '/sysroot',
      '/sysroot/ostree',
      '/sysroot/ostree/repo',
      '/sysroot/ostree/repo/objects',
      '/sysroot/ostree/repo/objects/ab',
      '/sysroot/ostree/repo/objects/ab/cdef.file',
      '/usr',
      '/usr/lib',
      '/usr/share',
      '/usr/share/doc',
      '/usr/share/doc/c',
      '/var',
      '/var/run',
    ].sort(),
  )
  expect(tree.get('/var/run')).toMatchObject({type: 'symlink', target: '../run'})
  expect(tree.get('/opt/app')).toMatchObject({type: 'directory', mode: 0o755, uid: 0})
  expect(tree.get('/opt/app/bin/app')).toMatchObject({type: 'file', mode: 0o755, size: 3})
  // Lint inputs keep their content, a hard link's comes from its target's layer; nothing else is kept.
  expect((await tree.get('/etc/passwd')!.read!()).toString()).toBe('root:x:0:0::/root:/bin/sh\n')
  expect(tree.get('/etc/group')).toMatchObject({type: 'file', size: 10})
  expect((await tree.get('/etc/group')!.read!()).toString()).toBe('root:x:0:\n')
  await expect(tree.get('/opt/app/bin/app')!.read!()).rejects.toBeInstanceOf(AptOstreeError)
})

test('an oci-archive reads in place to the same tree', async () => {
  const fromArchive = await treeFromImage(`oci-archive:${archive}:v1`)
  expect(shape(fromArchive)).toEqual(shape(await treeFromImage(`oci:${layout}:v1`)))
  expect((await fromArchive.get('/etc/group')!.read!()).toString()).toBe('root:x:0:\n')
})

test('the rules read an image tree, hard-linked inputs included', async () => {
  const result = await runLint(await treeFromImage(`oci:${layout}:v1`), {rootKind: 'image'})
  const finding = (rule: string): Array<[string, string[]]> => result.findings.filter((candidate) => candidate.rule === rule).map(({message, items}) => [message, items])
  expect(finding('sysusers')).toEqual([
    ['Found /etc/passwd entry without corresponding systemd sysusers.d', ['root']],
    ['Found /etc/group entry without corresponding systemd sysusers.d', ['root']],
  ])
  expect(finding('buildah-injected')).toEqual([['Found empty files; these may have been synthesized by a container runtime', ['/etc/hostname']]])
  expect(finding('debian-opt')).toEqual([['Found files in /opt, which is read-only under composefs', ['/opt/app/bin/app']]])
})

test('a missing tag names the tags there are', async () => {
  const error = await refusal(treeFromImage(`oci:${layout}:nope`))
  expect(error).toBeInstanceOf(UsageError)
  expect(error.message).toBe(`oci:${layout}:nope: no image tagged "nope" (the tags are: "v1")`)
})

test('a missing layout, archive or transport is a usage error naming it', async () => {
  expect((await refusal(treeFromImage(`oci:${work}/none`))).message).toBe(`oci:${work}/none:latest: ${work}/none: no such directory`)
  expect((await refusal(treeFromImage(`oci-archive:${work}/none.tar`))).message).toBe(`oci-archive:${work}/none.tar:latest: ${work}/none.tar: no such file`)
  const transport = await refusal(treeFromImage(`podman:${layout}`))
  expect(transport).toBeInstanceOf(UsageError)
  expect(transport.message).toMatch(/unknown image transport "podman"/)
})

test('a file that is not an archive, a corrupt layer and a missing blob are errors naming them', async () => {
  const notArchive = path.join(work, 'not-an-archive')
  writeFileSync(notArchive, 'x'.repeat(2048))
  expect((await refusal(treeFromImage(`oci-archive:${notArchive}`))).message).toMatch(new RegExp(`^oci-archive:${notArchive}:latest: ${notArchive} is not an oci-archive \\(Invalid tar header`))

  const corrupt = path.join(work, 'corrupt')
  const [layer] = writeLayout(corrupt, [Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('not gzip at all')])], 'latest').layers
  expect((await refusal(treeFromImage(`oci:${corrupt}`))).message).toBe(`oci:${corrupt}:latest: layer ${layer}: corrupt or unreadable layer (unknown compression method)`)

  rmSync(path.join(corrupt, 'blobs/sha256', layer.slice('sha256:'.length)))
  expect((await refusal(treeFromImage(`oci:${corrupt}`))).message).toBe(`oci:${corrupt}:latest: blobs/sha256/${layer.slice('sha256:'.length)} is missing`)
})
