import {execFileSync} from 'node:child_process'
import {cpSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, expect, test} from 'vitest'
import {treeFromImage} from '../../src/lint/load.js'
import {readImagePlatformConfig, withImageLayout} from '../../src/oci/read.js'
import {parseImageReference} from '../../src/oci/reference.js'
import {runSourceCli} from '../helpers/cli.js'
import {editManifest, readManifest, refusal, tarOf, writeBlob, writeLayout} from '../lint/oci-fixture.js'

// An image is untrusted data: these layouts attack the host through their blobs.
let work: string
let layout: string
/** The only layer's file, and its digest. */
let layerFile: string
let layerDigest: string

/** A layer holding /opt/CANARY: lint names files in /opt, so a read canary shows in its output. */
const canaryLayer = (): Promise<Buffer> => tarOf([{name: 'opt/CANARY-SECRET', content: 'CANARY-CONTENT'}])

beforeEach(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-untrusted-layout-'))
  layout = path.join(work, 'layout')
  ;[layerDigest] = writeLayout(layout, [await tarOf([{name: 'etc/os-release', content: 'ID=debian\n'}])], 'v1').layers
  layerFile = blobFile(layerDigest)
})
afterEach(() => rmSync(work, {recursive: true, force: true}))

const blobFile = (digest: string): string => path.join(layout, 'blobs/sha256', digest.slice('sha256:'.length))
const indexFile = (): string => path.join(layout, 'index.json')
const manifestFile = (): string => blobFile((JSON.parse(readFileSync(indexFile(), 'utf8')) as {manifests: Array<{digest: string}>}).manifests[0].digest)

/** Replace the image's layers by LAYERS (written as blobs); their digests. */
function editLayers(layers: Buffer[]): string[] {
  const descriptors = layers.map((layer) => ({mediaType: 'application/vnd.oci.image.layer.v1.tar', ...writeBlob(layout, layer)}))
  editManifest(layout, (manifest) => (manifest.layers = descriptors))
  return descriptors.map((descriptor) => descriptor.digest)
}

/** The image's blobs, as names in the layout. */
const blobNames = (): string[] => {
  const manifest = readManifest(layout)
  return [manifestFile(), blobFile(manifest.config.digest), ...manifest.layers.map((layer) => blobFile(layer.digest as string))].map((file) => path.relative(layout, file))
}

/** Move FILE out of the layout and leave a symbolic link to it: the bytes are the same, the digest matches. */
function linkOut(file: string): string {
  const outside = path.join(work, `outside-${path.basename(file)}`)
  renameSync(file, outside)
  symlinkSync(outside, file)
  return outside
}

/** The message of the error reading the image fails with. */
const refused = async (reading: Promise<unknown>): Promise<string> => (await refusal(reading)).message
const lintTree = (): Promise<unknown> => treeFromImage(`oci:${layout}:v1`)
const imageConfig = (): Promise<unknown> => withImageLayout(parseImageReference(`oci:${layout}:v1`), (opened, tag) => readImagePlatformConfig(opened, tag))

test('a layer blob that links to a file outside the layout is refused, and the file is not read', async () => {
  // The canary's bytes are the layer the manifest names: only the link gives it away.
  const canary = await canaryLayer()
  const [digest] = editLayers([canary])
  linkOut(blobFile(digest))
  const result = await runSourceCli(['container', 'lint', `oci:${layout}:v1`])
  expect(result.exitCode).toBe(1)
  expect(`${result.stdout}${result.stderr}`).not.toContain('CANARY')
  expect(result.stderr).toContain(`"blobs/sha256/${digest.slice('sha256:'.length)}": a symbolic link on the way; refused`)
})

test('index.json, a manifest and a config that are links are refused', async () => {
  const index = linkOut(indexFile())
  expect(await refused(lintTree())).toBe(`oci:${layout}:v1 "index.json": a symbolic link on the way; refused`)
  renameSync(index, indexFile())

  const manifest = manifestFile()
  const outside = linkOut(manifest)
  expect(await refused(lintTree())).toMatch(/ "blobs\/sha256\/[0-9a-f]{64}": a symbolic link on the way; refused$/)
  renameSync(outside, manifest)

  linkOut(blobFile(readManifest(layout).config.digest))
  expect(await refused(imageConfig())).toMatch(/ "blobs\/sha256\/[0-9a-f]{64}": a symbolic link on the way; refused$/)
})

test('a blobs directory that links elsewhere is refused', async () => {
  const elsewhere = path.join(work, 'elsewhere')
  cpSync(path.join(layout, 'blobs/sha256'), elsewhere, {recursive: true})
  rmSync(path.join(layout, 'blobs/sha256'), {recursive: true})
  symlinkSync(elsewhere, path.join(layout, 'blobs/sha256'))
  expect(await refused(lintTree())).toMatch(new RegExp(`^oci:${layout}:v1 "blobs/sha256/[0-9a-f]{64}": a symbolic link on the way; refused$`))
})

test('a layer whose bytes do not match its digest is refused, in a directory and in an archive', async () => {
  // The same size, other bytes: a layer swapped for one the manifest does not name.
  const swapped = await tarOf([{name: 'etc/os-release', content: 'ID=evil!!\n'}])
  expect(swapped.length).toBe(readFileSync(layerFile).length)
  writeFileSync(layerFile, swapped)
  expect(await refused(lintTree())).toBe(`oci:${layout}:v1: layer ${layerDigest}: its content does not match its digest`)

  const archive = path.join(work, 'image.tar')
  const members = ['oci-layout', 'index.json', ...blobNames()].map((name) => ({name, content: readFileSync(path.join(layout, name))}))
  writeFileSync(archive, await tarOf([{name: 'blobs', type: 'directory'}, {name: 'blobs/sha256', type: 'directory'}, ...members]))
  expect(await refused(treeFromImage(`oci-archive:${archive}:v1`))).toBe(`oci-archive:${archive}:v1: layer ${layerDigest}: its content does not match its digest`)
})

test('a manifest whose bytes do not match its digest, or a blob of another size than its descriptor says, is refused', async () => {
  // One hex digit of the config digest changed: still a valid manifest, of the same size.
  const manifest = manifestFile()
  const text = readFileSync(manifest, 'utf8')
  const at = text.indexOf('sha256:') + 'sha256:'.length
  writeFileSync(manifest, `${text.slice(0, at)}${text[at] === '0' ? '1' : '0'}${text.slice(at + 1)}`)
  expect(await refused(lintTree())).toMatch(new RegExp(`^oci:${layout}:v1: manifest sha256:[0-9a-f]{64}: its content does not match its digest$`))
  writeFileSync(manifest, text)

  editManifest(layout, (edited) => (edited.layers[0].size += 1))
  expect(await refused(lintTree())).toBe(`oci:${layout}:v1: layer ${layerDigest}: ${readFileSync(layerFile).length} bytes, where its descriptor says ${readFileSync(layerFile).length + 1}`)
})

test('a digest that is not an algorithm and its hex digits is refused before anything is opened', async () => {
  // Each names a file that holds a valid layer, were it turned into a path.
  const planted = await canaryLayer()
  writeFileSync(path.join(layout, 'x'), planted)
  writeFileSync(path.join(layout, 'blobs/sha256/layer'), planted)
  const size = planted.length
  for (const digest of ['sha256:../../x', 'sha256:layer', `sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `md5:${'a'.repeat(32)}`, '../x:y', `sha256:${'a'.repeat(64)}\n`, 42]) {
    editManifest(layout, (manifest) => (manifest.layers = [{digest, size}]))
    expect(await refused(lintTree())).toMatch(/is not a digest \(sha256: or sha512: and the hex digits of the hash\)$/)
  }
})

test('a blob that is a FIFO, or links to one, is refused without waiting for a writer', {timeout: 20_000}, async () => {
  const fifo = path.join(work, 'fifo')
  execFileSync('mkfifo', [fifo])
  rmSync(layerFile)
  execFileSync('mkfifo', [layerFile])
  expect(await refused(lintTree())).toBe(`oci:${layout}:v1 "blobs/sha256/${layerDigest.slice('sha256:'.length)}": not a regular file; refused`)
  rmSync(layerFile)
  symlinkSync(fifo, layerFile)
  expect(await refused(lintTree())).toMatch(/: a symbolic link on the way; refused$/)
  rmSync(indexFile())
  execFileSync('mkfifo', [indexFile()])
  expect(await refused(lintTree())).toBe(`oci:${layout}:v1 "index.json": not a regular file; refused`)
})

test('an oci-archive whose layer member is a link or a FIFO is refused, not read as an empty layer', async () => {
  const archive = path.join(work, 'image.tar')
  const layerName = path.relative(layout, layerFile)
  for (const type of ['symlink', 'fifo'] as const) {
    const members = ['oci-layout', 'index.json', ...blobNames().filter((name) => name !== layerName)].map((name) => ({name, content: readFileSync(path.join(layout, name))}))
    writeFileSync(archive, await tarOf([...members, {name: layerName, type, linkname: type === 'symlink' ? '/etc/passwd' : undefined}]))
    expect(await refused(treeFromImage(`oci-archive:${archive}:v1`))).toBe(`oci-archive:${archive}:v1: ${layerName} is missing`)
  }
})
