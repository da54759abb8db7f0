import {createHash} from 'node:crypto'
import {chmod, link, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {architectureNamed} from '../../src/arch.js'
import {diffBuilds} from '../../src/compose/diff.js'
import {exportCommitImage} from '../../src/compose/image.js'
import {exportImage, exportImageIndex, type ExportInput, type ImageOptions, type ImageSource} from '../../src/oci/export.js'
import type {CommitFacts} from '../../src/oci/config.js'
import {readImagePlatformConfig, withImageLayout} from '../../src/oci/read.js'
import {parseImageReference} from '../../src/oci/reference.js'
import {CommandLog} from '../../src/tools/exec.js'
import {OstreeRepo} from '../../src/tools/ostree.js'
import {runSourceCli} from '../helpers/cli.js'
import {outputSchemaErrors} from '../helpers/output-schema.js'
import {startRegistry} from '../helpers/registry.js'

// A tiny tree with what breaks naive tar writers: a file capability
// (binary xattr), hard links, names past 100 bytes, non-ASCII names,
// setuid bits, foreign owners, a dpkg database that owns some files and
// diverts one, and /usr/etc. Committed with the host's ostree, exported,
// then read back by umoci, GNU tar and getfattr.
let work: string
let repo: OstreeRepo
let commit: string
const LONG = 'd'.repeat(60) + '/' + 'f'.repeat(90)

async function writeTree(root: string): Promise<void> {
  const files: Record<string, string> = {
    'usr/bin/ping': 'ping binary',
    'usr/bin/hello': 'hello',
    'usr/bin/hello.distrib': 'hello original',
    'usr/share/doc/a/copyright': 'same text',
    'usr/share/doc/b/copyright': 'same text',
    [`usr/share/${LONG}`]: 'long name',
    'usr/share/naïve-ünïcode': 'utf-8 name',
    'usr/etc/hello.conf': 'x=1',
    'usr/etc/empty-a': '',
    'usr/etc/empty-b': '',
    'usr/lib/modules/6.12.0/vmlinuz': 'kernel',
    'usr/lib/modules/6.12.0/initramfs.img': 'initramfs',
    'usr/lib/tmpfiles.d/var.conf': 'd /var/lib/thing 0750 root daemon - -\nd /var/lib 0755 - - - -\nL /var/run - - - - ../run\nd /var/%h/skip - - - -\nd /var/orphan/child - - - -\n',
    'usr/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/:/bin/false\n',
    'usr/etc/group': 'root:x:0:\ndaemon:x:1:\n',
    'usr/share/dpkg/database/info/ping.list': '/.\n/usr\n/usr/bin\n/usr/bin/ping\n/usr/bin/ping-hardlink\n',
    'usr/share/dpkg/database/info/hello.list': '/usr/bin/hello\n/etc/hello.conf\n/usr/share/doc/a/copyright\n',
    'usr/share/dpkg/database/info/hello-wrapper.list': '/usr/bin/hello\n',
    'usr/share/dpkg/database/info/linux-image-6.12.0.list': '/boot/vmlinuz-6.12.0\n',
    'usr/share/dpkg/database/diversions': '/usr/bin/hello\n/usr/bin/hello.distrib\nhello-wrapper\n',
  }
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), {recursive: true})
    await writeFile(path.join(root, name), content)
  }
  for (const directory of ['var', 'run', 'tmp', 'boot', 'sysroot']) await mkdir(path.join(root, directory), {recursive: true})
  await symlink('sysroot/ostree', path.join(root, 'ostree'))
  await symlink('usr/bin', path.join(root, 'bin'))
  await link(path.join(root, 'usr/bin/ping'), path.join(root, 'usr/bin/ping-hardlink'))
  await chmod(path.join(root, 'usr/bin/ping'), 0o4755)
  await execa('chown', ['1:1', path.join(root, 'usr/share/doc/b')])
  await execa('setcap', ['cap_net_raw+ep', path.join(root, 'usr/bin/ping')])
}

const imageOptions = (): Omit<ImageOptions, 'output'> => ({labels: {}, maxLayers: 8, compression: 'gzip', access: {}})
const facts = (): CommitFacts => ({commit, timestamp: 1767225600, filesTimestamp: 1767225600, architecture: 'amd64', version: '1.0', bootable: true, kernelVersion: '6.12.0', inputHash: 'abc'})

/** What every export here is given besides its commits: the options, a work dir, a log, quiet callbacks. */
const exportContext = (output: string) => ({
  output: parseImageReference(output),
  ...imageOptions(),
  workDir: path.join(work, 'work'),
  log: new CommandLog(path.join(work, 'log')),
  signal: new AbortController().signal,
  progress: () => undefined,
  warn: () => undefined,
})

function exportTo(output: string, extra: Partial<ExportInput> = {}): ReturnType<typeof exportImage> {
  return exportImage({repo, commit, ...exportContext(output), ...extra}, facts())
}

async function unpack(layoutDir: string, tag: string): Promise<string> {
  const bundle = await mkdtemp(path.join(work, 'bundle-'))
  await rm(bundle, {recursive: true})
  await execa('umoci', ['raw', 'unpack', '--image', `${layoutDir}:${tag}`, bundle])
  return bundle
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'apt-ostree-export-'))
  await mkdir(path.join(work, 'work'))
  await writeTree(path.join(work, 'tree'))
  repo = new OstreeRepo(path.join(work, 'repo'))
  await mkdir(repo.path)
  await repo.init('bare-user')
  commit = await repo.commit({tree: path.join(work, 'tree'), timestamp: 1767225600})
})

afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

describe('exportImage', () => {
  it('keeps binary capabilities, setuid bits, owners, hard links, long and UTF-8 names', async () => {
    await exportTo(`oci:${work}/layout:t`)
    const rootfs = await unpack(`${work}/layout`, 't')
    const {stdout: caps} = await execa('getcap', [path.join(rootfs, 'usr/bin/ping')])
    expect(caps).toContain('cap_net_raw=ep')
    expect((await stat(path.join(rootfs, 'usr/bin/ping'))).mode & 0o7777).toBe(0o4755)
    expect((await stat(path.join(rootfs, 'usr/share/doc/b'))).uid).toBe(1)
    expect(await readFile(path.join(rootfs, 'usr/share', LONG), 'utf8')).toBe('long name')
    expect(await readFile(path.join(rootfs, 'usr/share/naïve-ünïcode'), 'utf8')).toBe('utf-8 name')
    // Same content in one layer's /usr: one inode; in /etc: copies (config is edited in place).
    expect((await stat(path.join(rootfs, 'usr/bin/ping'))).ino).toBe((await stat(path.join(rootfs, 'usr/bin/ping-hardlink'))).ino)
    expect((await stat(path.join(rootfs, 'etc/empty-a'))).ino).not.toBe((await stat(path.join(rootfs, 'etc/empty-b'))).ino)
    // /usr/etc is /etc in an image; /var holds what tmpfiles.d declares, with resolved owners.
    expect(await readFile(path.join(rootfs, 'etc/hello.conf'), 'utf8')).toBe('x=1')
    await expect(stat(path.join(rootfs, 'usr/etc'))).rejects.toThrow()
    const thing = await stat(path.join(rootfs, 'var/lib/thing'))
    expect([thing.mode & 0o7777, thing.gid]).toEqual([0o750, 1])
    expect((await readdir(path.join(rootfs, 'var'))).sort()).toEqual(['lib', 'run'])
    // Every layer is a tar GNU tar reads, with the capability as a PAX xattr.
    const layout = JSON.parse(await readFile(path.join(work, 'layout/index.json'), 'utf8'))
    const manifest = JSON.parse(await readFile(path.join(work, 'layout/blobs/sha256', layout.manifests[0].digest.slice(7)), 'utf8'))
    const listings = await Promise.all(
      manifest.layers.map(async (layer: {digest: string}) => (await execa('tar', ['--xattrs', '--xattrs-include=*', '-tvvzf', path.join(work, 'layout/blobs/sha256', layer.digest.slice(7))])).stdout),
    )
    expect(listings.join('\n')).toMatch(/usr\/bin\/ping\n\s*x: 20 security.capability/)
  })

  it('splits files by owning package, honouring diversions; unowned files and the initramfs apart', async () => {
    const result = await exportTo(`oci:${work}/split:t`)
    const components = result.layers.map((layer) => layer.components)
    expect(components).toContainEqual(['initramfs'])
    expect(components).toContainEqual(['apt-ostree-unpackaged-content'])
    expect(components.at(-1)).toEqual([])
    const layout = JSON.parse(await readFile(path.join(work, 'split/index.json'), 'utf8'))
    const manifest = JSON.parse(await readFile(path.join(work, 'split/blobs/sha256', layout.manifests[0].digest.slice(7)), 'utf8'))
    const layerOf = async (component: string): Promise<string> => {
      const index = components.findIndex((names) => names.includes(component))
      return (await execa('tar', ['-tzf', path.join(work, 'split/blobs/sha256', manifest.layers[index].digest.slice(7))])).stdout
    }
    // The diverting package owns the path; the diverted file stays with the package that shipped it.
    expect((await layerOf('hello-wrapper')).split('\n')).toContain('usr/bin/hello')
    expect((await layerOf('hello')).split('\n')).toEqual(expect.arrayContaining(['usr/bin/hello.distrib', 'etc/hello.conf', 'usr/share/doc/a/copyright']))
    expect((await layerOf('linux-image-6.12.0')).split('\n')).toContain('usr/lib/modules/6.12.0/vmlinuz')
    // Every layer holds its parent directories.
    expect((await layerOf('hello')).split('\n')).toEqual(expect.arrayContaining(['usr/', 'usr/bin/', 'etc/']))
    expect(manifest.layers.every((layer: {annotations: Record<string, string>}) => 'ostree.components' in layer.annotations)).toBe(true)
  })

  it('keeps the grouping of --previous-build-manifest', async () => {
    const first = await exportTo(`oci:${work}/grouped:t`, {maxLayers: 4})
    const layout = JSON.parse(await readFile(path.join(work, 'grouped/index.json'), 'utf8'))
    const manifest = path.join(work, 'previous-manifest.json')
    await writeFile(manifest, await readFile(path.join(work, 'grouped/blobs/sha256', layout.manifests[0].digest.slice(7))))
    // Fresh, 8 layers would split these components differently; the previous manifest's 4 groups stay.
    const second = await exportTo(`oci:${work}/regrouped:t`, {maxLayers: 8, previousBuildManifest: manifest})
    expect(second.layers.map((layer) => layer.components)).toEqual(first.layers.map((layer) => layer.components))
    expect(second.manifestDigest).toBe(first.manifestDigest)
  })

  it('writes nothing when bootc\'s lint finds a fatal problem (this tree has no /dev, /proc, /sys)', async () => {
    const output = path.join(work, 'linted')
    const failed = exportCommitImage({
      ...imageOptions(),
      output: parseImageReference(`oci:${output}`),
      repo: repo.path,
      ref: commit,
      cacheDir: path.join(work, 'cache'),
      skipLint: [],
      progress: () => undefined,
      warn: () => undefined,
    })
    await expect(failed).rejects.toThrow(/^the amd64 image fails bootc's lint; nothing was written\nFailed lint: api-base-directories: /)
    expect((await readdir(work)).filter((name) => name.includes('linted'))).toEqual([])
    expect(await readdir(path.join(work, 'cache/work'))).toEqual([])
  })

  it('gives the same digest for the same commit, in gzip, zstd and uncompressed', async () => {
    for (const compression of ['gzip', 'zstd', 'none'] as const) {
      const first = await exportTo(`oci-archive:${work}/${compression}-1.tar`, {compression})
      const second = await exportTo(`oci-archive:${work}/${compression}-2.tar`, {compression})
      expect(second.manifestDigest).toBe(first.manifestDigest)
      const hash = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex')
      expect(await hash(`${work}/${compression}-2.tar`)).toBe(await hash(`${work}/${compression}-1.tar`))
    }
  })

  it('compose diff names exactly the layers whose digest changes: one package changed, one added, one unowned file changed', async () => {
    const tree = path.join(work, 'tree')
    const second = path.join(work, 'tree-2')
    await execa('cp', ['-a', tree, second])
    await writeFile(path.join(second, 'usr/etc/hello.conf'), 'x=2')
    await writeFile(path.join(second, 'usr/share/dpkg/database/info/extra.list'), '/usr/bin/extra\n')
    await writeFile(path.join(second, 'usr/bin/extra'), 'extra')
    await writeFile(path.join(second, 'usr/etc/empty-b'), 'not empty')
    const changedCommit = await repo.commit({tree: second, timestamp: 1767225600})
    await exportTo(`oci:${work}/diff-1:t`)
    const layout = JSON.parse(await readFile(path.join(work, 'diff-1/index.json'), 'utf8'))
    const manifestFile = path.join(work, 'diff-1-manifest.json')
    await writeFile(manifestFile, await readFile(path.join(work, 'diff-1/blobs/sha256', layout.manifests[0].digest.slice(7))))
    const before = JSON.parse(await readFile(manifestFile, 'utf8')).layers as Array<{digest: string}>
    const after = await exportTo(`oci:${work}/diff-2:t`, {commit: changedCommit, previousBuildManifest: manifestFile})
    const changedByDigest = after.layers.flatMap((layer, index) => (before[index]?.digest === layer.digest ? [] : [index + 1]))
    expect(changedByDigest.length).toBeGreaterThan(1)
    expect(changedByDigest.length).toBeLessThan(after.layers.length)

    const diff = await diffBuilds({repo: repo.path, from: commit, to: changedCommit, cacheDir: path.join(work, 'cache'), maxLayers: 8, progress: () => undefined})
    expect(diff.layers.changed.map((layer) => layer.index)).toEqual(changedByDigest)
    expect(diff.layers.changed.map((layer) => layer.components)).toEqual(changedByDigest.map((index) => after.layers[index - 1].components))
    expect(diff.layers.changed.flatMap((layer) => layer.components)).toEqual(expect.arrayContaining(['hello', 'extra', 'apt-ostree-unpackaged-content']))
  })
})

describe('exportImageIndex', () => {
  // The fixture commit stands for both architectures' trees: the index is about platforms, not content.
  const sources = async (): Promise<ImageSource[]> => {
    const arm = await repo.commit({tree: path.join(work, 'tree'), timestamp: 1767225600, metadata: {'apt-ostree.arm64-fixture': 'true'}})
    return [
      {repo, commit, facts: facts()},
      {repo, commit: arm, facts: {...facts(), commit: arm, architecture: 'arm64'}},
    ]
  }
  const indexTo = async (output: string, extra: Partial<Parameters<typeof exportImageIndex>[0]> = {}): ReturnType<typeof exportImageIndex> =>
    exportImageIndex({sources: await sources(), ...exportContext(output), ...extra})
  const inspectRaw = async (reference: string): Promise<{mediaType: string; manifests: Array<{digest: string; platform: object}>}> => JSON.parse((await execa('skopeo', ['inspect', '--raw', reference])).stdout)

  it('lists each platform\'s image, each config of its architecture, the same bytes twice', async () => {
    const first = await indexTo(`oci-archive:${work}/index-1.tar`)
    const index = await inspectRaw(`oci-archive:${work}/index-1.tar`)
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    expect(index.manifests.map((manifest) => manifest.platform)).toEqual([{architecture: 'amd64', os: 'linux'}, {architecture: 'arm64', os: 'linux', variant: 'v8'}])
    expect(index.manifests.map((manifest) => manifest.digest)).toEqual(first.platforms.map((platform) => platform.manifestDigest))
    for (const [arch, expected] of [['amd64', 'amd64'], ['arm64', 'arm64']]) {
      const inspected = JSON.parse((await execa('skopeo', ['inspect', '--override-arch', arch, `oci-archive:${work}/index-1.tar`])).stdout) as {Architecture: string}
      expect(inspected.Architecture).toBe(expected)
    }
    const second = await indexTo(`oci-archive:${work}/index-2.tar`)
    expect(second.indexDigest).toBe(first.indexDigest)
    expect(createHash('sha256').update(await readFile(`${work}/index-2.tar`)).digest('hex')).toBe(createHash('sha256').update(await readFile(`${work}/index-1.tar`)).digest('hex'))
  })

  it('keeps each platform\'s grouping from the index at the output', async () => {
    await indexTo(`oci:${work}/index-dir:t`, {maxLayers: 4})
    // Fresh, 8 layers would group these components differently.
    const again = await indexTo(`oci:${work}/index-dir:t`, {maxLayers: 8})
    expect(again.platforms.map((platform) => platform.layers.length)).toEqual([4, 4])
  })

  it('goes to a registry whole (skopeo copy --all): both platforms there', async () => {
    const registry = await startRegistry()
    try {
      const result = await indexTo(`docker://${registry.host}/apt-ostree/multi:latest`, {access: {tlsVerify: false}})
      const pushed = JSON.parse((await execa('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/apt-ostree/multi:latest`])).stdout) as {manifests: Array<{digest: string}>}
      expect(pushed.manifests.map((manifest) => manifest.digest)).toEqual(result.platforms.map((platform) => platform.manifestDigest))
    } finally {
      await registry.stop()
    }
  })

  it('container lint checks each platform (or the one --arch names); an index image\'s config is its platform\'s', async () => {
    const written = await indexTo(`oci-archive:${work}/index-lint.tar`)
    const target = `oci-archive:${work}/index-lint.tar`
    const all = await runSourceCli(['container', 'lint', target, '--json'])
    const report = JSON.parse(all.stdout) as {platforms: Array<{architecture: string; fatal: number}>}
    expect(outputSchemaErrors('container-lint', report)).toEqual([])
    // The fixture tree has no /dev, /proc or /sys: each platform fails on its own.
    expect(report.platforms.map((platform) => [platform.architecture, platform.fatal > 0])).toEqual([['amd64', true], ['arm64', true]])
    expect(all.exitCode).toBe(1)
    const one = JSON.parse((await runSourceCli(['container', 'lint', target, '--arch', 'arm64', '--json'])).stdout) as {platforms: Array<{architecture: string}>}
    expect(one.platforms.map((platform) => platform.architecture)).toEqual(['arm64'])
    const absent = await runSourceCli(['container', 'lint', target, '--arch', 's390x'])
    expect([absent.exitCode, absent.stderr.trim()]).toEqual([2, `${target}: the index has no s390x image (it has amd64, arm64)`])
    const config = await withImageLayout(parseImageReference(target), (layout, tag) => readImagePlatformConfig(layout, tag, architectureNamed('arm64')))
    expect([config.labels['ostree.commit'], config.architecture?.debian]).toEqual([written.platforms[1].commit, 'arm64'])
  })

  it('refuses two images of one architecture, and a previous build manifest', async () => {
    const [amd] = await sources()
    await expect(indexTo(`oci:${work}/never`, {sources: [amd, amd]})).rejects.toThrow('two images of amd64: an index holds one image per architecture')
    await expect(indexTo(`oci:${work}/never`, {previousBuildManifest: '/nonexistent'})).rejects.toThrow(/^--previous-build-manifest names one image/)
    expect(await readdir(work)).not.toContain('never')
  })
})
