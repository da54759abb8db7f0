import {Readable} from 'node:stream'
import {expect, test} from 'vitest'
import {LayeredTree} from '../../src/oci/apply.js'
import type {OpenBlob} from '../../src/oci/read.js'
import {refusal, tarOf, type LayerEntry} from '../lint/oci-fixture.js'

/** A layer's bytes as the tree reads a blob (digests are read.ts's business, tested there). */
const blobOf = (bytes: Buffer, index: number): OpenBlob => ({
  label: `layer ${index}`,
  size: bytes.length,
  head: async (length) => bytes.subarray(0, length),
  stream: () => Readable.from([bytes]),
})

/** The tree LAYERS give, bottom first. */
async function applied(layers: LayerEntry[][]): Promise<LayeredTree> {
  const tree = new LayeredTree(() => false)
  for (const [index, entries] of layers.entries()) await tree.applyLayer(index, blobOf(await tarOf(entries), index))
  return tree
}
/** The message of the error applying LAYERS fails with. */
const refused = async (layers: LayerEntry[][]): Promise<string> => (await refusal(applied(layers))).message
const keys = (tree: LayeredTree): string[] => [...tree.tree.keys()].sort()

test('opaque whiteouts in many layers over a large tree leave exactly the lower entries they do not hide', async () => {
  const directories = 200
  const files = 20
  const base: LayerEntry[] = Array.from({length: directories}, (_, index) => [
    {name: `srv/d${index}`, type: 'directory' as const},
    ...Array.from({length: files}, (_, file) => ({name: `srv/d${index}/f${file}`})),
    {name: `srv/d${index}/sub/deep`},
  ]).flat()
  // Layer k makes srv/d(2k) opaque: its own new file comes before the whiteout or after it.
  const layers = Array.from({length: directories / 2}, (_, k) => {
    const own = {name: `srv/d${2 * k}/new${k}`}
    const opaque = {name: `srv/d${2 * k}/.wh..wh..opq`}
    return k % 2 === 0 ? [own, opaque] : [opaque, own]
  })
  const tree = await applied([base, ...layers])
  const expected = ['/', '/srv']
  for (let index = 0; index < directories; index++) {
    expected.push(`/srv/d${index}`)
    if (index % 2 === 0) expected.push(`/srv/d${index}/new${index / 2}`)
    else expected.push(`/srv/d${index}/sub`, `/srv/d${index}/sub/deep`, ...Array.from({length: files}, (_, file) => `/srv/d${index}/f${file}`))
  }
  expect(keys(tree)).toEqual(expected.sort())
})

test("an opaque whiteout keeps the layer's own entries below it, and the directories they are in", async () => {
  const tree = await applied([
    [{name: 'etc/app/conf.d/old.conf'}, {name: 'etc/app/main.conf'}],
    // The layer's own file is in a directory only the lower layer has an entry for; the whiteout comes last.
    [{name: 'etc/app/conf.d/new.conf'}, {name: 'etc/app/.wh..wh..opq'}],
  ])
  expect(keys(tree)).toEqual(['/', '/etc', '/etc/app', '/etc/app/conf.d', '/etc/app/conf.d/new.conf'])
})

test('a whiteout removes a name and everything below it, and never what its own layer writes there', async () => {
  const tree = await applied([
    [{name: 'opt/tool/bin/tool'}, {name: 'opt/tool/lib/x.so'}, {name: 'opt/other'}, {name: 'opt/kept'}],
    [{name: 'opt/.wh.tool'}, {name: 'opt/kept', content: 'new'}, {name: 'opt/.wh.kept'}, {name: 'opt/.wh.absent'}, {name: 'opt/.wh..wh.plnk'}],
    [{name: 'opt/tool/bin/tool'}],
  ])
  expect(keys(tree)).toEqual(['/', '/opt', '/opt/kept', '/opt/other', '/opt/tool', '/opt/tool/bin', '/opt/tool/bin/tool'])
  expect(tree.tree.get('/opt/kept')).toMatchObject({type: 'file', size: 3})
})

test('a file replacing a directory hides all that was below it, the same layer\'s entries too', async () => {
  const tree = await applied([[{name: 'var/lib/x/a'}], [{name: 'var/lib/x/b'}, {name: 'var/lib/x', type: 'symlink', linkname: '/tmp'}]])
  expect(keys(tree)).toEqual(['/', '/var', '/var/lib', '/var/lib/x'])
})

test('a whiteout of "." or ".." is refused: it would hide a directory, or the whole tree, from lint', async () => {
  const lower = [{name: 'var/run', type: 'directory' as const}, {name: 'usr/bin/sh'}]
  expect(await refused([lower, [{name: 'usr/.wh...'}]])).toBe('layer 1: the whiteout "/usr/.wh..." names no file')
  expect(await refused([lower, [{name: 'usr/.wh..'}]])).toBe('layer 1: the whiteout "/usr/.wh.." names no file')
  expect(await refused([lower, [{name: 'usr/.wh.'}]])).toBe('layer 1: the whiteout "/usr/.wh." names no file')
})

test('an entry that would make the root something else than a directory is refused', async () => {
  const lower = [{name: 'var/run', type: 'directory' as const}]
  expect(await refused([lower, [{name: './', type: 'symlink', linkname: '/elsewhere'}]])).toBe('layer 1: the entry "./" makes the root a symlink, not a directory')
  expect(await refused([lower, [{name: '/'}]])).toBe('layer 1: the entry "/" makes the root a file, not a directory')
})

test('names and hard-link targets that climb out of the root stay in the tree, as a chroot would have them', async () => {
  const tree = await applied([[{name: '../../etc/passwd', content: 'root'}, {name: 'a/../../../etc/group', type: 'link', linkname: '../../../etc/passwd'}]])
  expect(keys(tree)).toEqual(['/', '/etc', '/etc/group', '/etc/passwd'])
  expect(tree.tree.get('/etc/group')).toMatchObject({type: 'file', size: 4})
  // A hard link to a host file the image does not have is an error, not a read of the host.
  expect(await refused([[{name: 'x', type: 'link', linkname: '../../../../../etc/hostname'}]])).toBe('layer 0: hard link "/x" to "../../../../../etc/hostname", which the layers do not have')
})
