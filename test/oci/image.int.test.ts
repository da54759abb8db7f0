import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {BUILT_CLI, repoRoot, runCli, STACK_FRAME} from '../helpers/cli.js'
import {ordinaryUser, type OrdinaryUser} from '../helpers/ordinary-user.js'
import {outputSchemaErrors, schemaErrors} from '../helpers/output-schema.js'
import {podman, podmanEnv, resetPodman} from '../helpers/podman.js'
import {startRegistry} from '../helpers/registry.js'
import {describeTree, describeXattrs, hardLinkGroups} from '../helpers/tree-compare.js'

// The image acceptance, with the real tools: the default treefile composed
// from an empty cache into an oci-archive, compared with its commit, linted,
// grown by one package (few layers change), pushed to a registry and to
// containers-storage, run and built FROM with podman; then composed again by
// an ordinary user from a fresh clone and an empty cache (the same digest),
// linted and booted as that user.
const SOURCE_DATE_EPOCH = '1767225600'
const TREEFILE = 'treefiles/debian-trixie-minimal.yaml'
const REF = 'debian/13/amd64/minimal'
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-image-'))
const cacheA = path.join(work, 'cache-a')
const archive = path.join(work, 'minimal.ociarchive')
const env = {CI: 'true', SOURCE_DATE_EPOCH}

interface Composed {
  commit: string
  packages: string[]
  image: {manifestDigest: string; layers: Array<{digest: string; size: number; components: string[]}>}
}

async function composeImage(treefile: string, cacheDir: string, output: string, extra: string[] = []): Promise<Composed> {
  const result = await runCli(['compose', 'tree', treefile, '--container', '-o', `oci-archive:${output}`, '--cachedir', cacheDir, '--json', ...extra], {env})
  if (result.exitCode !== 0) throw new Error(`compose failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`)
  const document = JSON.parse(result.stdout) as Composed
  expect(outputSchemaErrors('compose-tree', document)).toEqual([])
  return document
}

async function skopeoInspect(reference: string, extra: string[] = []): Promise<{Digest: string; Labels: Record<string, string>; Architecture: string; Os: string; Created: string; Layers: string[]}> {
  return JSON.parse((await execa('skopeo', ['inspect', ...extra, reference])).stdout)
}

let first: Composed
/** After the package was added: what cacheA's ref points at from then on. */
let grown: Composed

const lockfile = path.join(work, 'lock.json')
const reports = {online: path.join(work, 'report-online.json'), offline: path.join(work, 'report-offline.json')}
/** The first compose's time from an empty cache, beside which the offline rebuild's is printed. */
let onlineSeconds = 0

beforeAll(async () => {
  const started = performance.now()
  first = await composeImage(TREEFILE, cacheA, archive, ['--write-lockfile-to', lockfile, '--write-report-to', reports.online])
  onlineSeconds = Math.round((performance.now() - started) / 1000)
})

afterAll(async () => {
  await resetPodman()
  rmSync(work, {recursive: true, force: true})
})

describe('compose tree --container', () => {
  test('the image carries the bootc labels and the commit timestamp', async () => {
    const image = await skopeoInspect(`oci-archive:${archive}`)
    expect(image.Digest).toBe(first.image.manifestDigest)
    expect(image.Labels).toMatchObject({'containers.bootc': '1', 'ostree.bootable': 'true', 'ostree.commit': first.commit})
    expect(image.Labels['ostree.linux']).toMatch(/^6\.12\.\d+/)
    expect(image.Labels['org.opencontainers.image.version']).toMatch(/^13\.\d{8}\.\d+$/)
    expect(image.Labels['apt-ostree.inputhash']).toMatch(/^[0-9a-f]{64}$/)
    expect([image.Architecture, image.Os, image.Created]).toEqual(['amd64', 'linux', '2026-01-01T00:00:00Z'])
    expect(image.Layers.length).toBeLessThanOrEqual(64)
  })

  test('umoci unpack of the image equals ostree checkout of the commit', async () => {
    const layout = path.join(work, 'layout')
    await execa('tar', ['-xf', archive, '-C', (await execa('mkdir', ['-p', layout]), layout)])
    const unpacked = path.join(work, 'unpacked')
    await execa('umoci', ['raw', 'unpack', '--image', `${layout}:latest`, unpacked])
    const checkout = path.join(work, 'checkout')
    await execa('ostree', ['checkout', `--repo=${path.join(cacheA, 'staging-repo')}`, first.commit, checkout])
    const asImage = (relative: string): string => (relative === 'usr/etc' || relative.startsWith('usr/etc/') ? relative.slice(4) : relative)
    const [image, commit] = [await describeTree(unpacked), await describeTree(checkout, asImage)]
    // The image adds /var's skeleton from tmpfiles.d; everything else is the commit, path for path.
    const imageOnly = [...image.keys()].filter((name) => !commit.has(name))
    expect(imageOnly.filter((name) => !name.startsWith('var/'))).toEqual([])
    expect([...commit.keys()].filter((name) => !image.has(name))).toEqual([])
    const strip = ({inode: _inode, ...facts}: {inode: number}): object => facts
    const differences = [...commit].filter(([name, facts]) => JSON.stringify(strip(facts)) !== JSON.stringify(strip(image.get(name)!))).map(([name]) => name)
    expect(differences).toEqual([])
    // Hard links in the image join only paths that are one object in the commit.
    for (const group of hardLinkGroups(image)) expect(new Set(group.map((name) => commit.get(name)!.content)).size).toBe(1)
    expect(await describeXattrs(unpacked, (name) => name)).toEqual(await describeXattrs(checkout, asImage))
    console.info(`compared ${commit.size} paths; ${imageOnly.length} /var paths from tmpfiles.d; ${hardLinkGroups(image).length} hard-link groups`)
  })

  test('container lint finds no error and no warning', async () => {
    const lint = await runCli(['container', 'lint', `oci-archive:${archive}`])
    expect(lint.stderr).toBe('')
    expect(lint.exitCode).toBe(0)
    expect(lint.stdout).not.toMatch(/warning|Failed/i)
  })

  test('one more small package changes at most 2 layers and keeps 90% of the bytes', async () => {
    const treefile = path.join(work, 'with-hello.yaml')
    writeFileSync(treefile, `include: ${path.join(repoRoot, TREEFILE)}\npackages:\n  - hello\n`)
    grown = await composeImage(treefile, cacheA, archive)
    const before = new Map(first.image.layers.map((layer) => [layer.digest, layer.size]))
    const changed = grown.image.layers.filter((layer) => !before.has(layer.digest))
    const kept = grown.image.layers.filter((layer) => before.has(layer.digest)).reduce((sum, layer) => sum + layer.size, 0)
    const total = grown.image.layers.reduce((sum, layer) => sum + layer.size, 0)
    console.info(`adding hello: ${changed.length} of ${grown.image.layers.length} layers changed (${changed.map((layer) => layer.components.join(',') || 'reserved').join('; ')}), ${((100 * kept) / total).toFixed(1)}% of ${total} bytes kept`)
    expect(changed.length).toBeLessThanOrEqual(2)
    expect(kept / total).toBeGreaterThanOrEqual(0.9)
    expect(grown.image.layers.find((layer) => layer.components.includes('hello'))).toBeDefined()
  })
})

describe('a release rebuilt offline from its captured archive', () => {
  test('compose fetch of the lockfile, then a compose in a network namespace with only lo and a fresh cache: the same commit and manifest digest', async () => {
    const captured = path.join(work, 'archive')
    const fetched = await runCli(['compose', 'fetch', TREEFILE, '--lockfile', lockfile, '-o', captured, '--cachedir', cacheA], {env})
    expect(fetched.exitCode, fetched.stderr).toBe(0)
    console.log(`capture: ${fetched.stdout.trim()}`)
    const interfaces = (await execa('unshare', ['-n', 'cat', '/proc/net/dev'])).stdout.split('\n').slice(2).map((line) => line.trim().split(':')[0])
    expect(interfaces).toEqual(['lo'])
    const output = path.join(work, 'offline.ociarchive')
    const started = performance.now()
    const offline = await execa('unshare', ['-n', 'node', BUILT_CLI, 'compose', 'tree', TREEFILE, '--container', '-o', `oci-archive:${output}`, '--cachedir', path.join(work, 'cache-offline'), '--archive-dir', captured, '--write-report-to', reports.offline, '--json'], {env, reject: false})
    expect(offline.exitCode, offline.stderr).toBe(0)
    const rebuilt = JSON.parse(offline.stdout) as Composed
    console.log(`online:  commit ${first.commit}, manifest ${first.image.manifestDigest} (${onlineSeconds} s, empty cache)\noffline: commit ${rebuilt.commit}, manifest ${rebuilt.image.manifestDigest} (${Math.round((performance.now() - started) / 1000)} s, empty cache)`)
    expect(rebuilt.commit).toBe(first.commit)
    expect(rebuilt.image.manifestDigest).toBe(first.image.manifestDigest)
  })

  test('both builds\' reports validate, and are the same but for their timings', () => {
    const [online, offline] = [reports.online, reports.offline].map((file) => readFileSync(file, 'utf8'))
    const [a, b] = [online, offline].map((text) => JSON.parse(text) as {timings: Record<string, number>; cache: object; packages: object})
    for (const report of [a, b]) expect(schemaErrors('report', report)).toEqual([])
    console.log(`report: ${JSON.stringify(a.packages)}, cache ${JSON.stringify(a.cache)}\nonline timings ${JSON.stringify(a.timings)}\noffline timings ${JSON.stringify(b.timings)}`)
    // Byte for byte, once the timings object is blanked.
    const untimed = (text: string): string => text.replace(/"timings": \{[^}]*\}/, '"timings": {}')
    expect(untimed(offline)).toBe(untimed(online))
    expect(Object.keys(b.timings)).toEqual(Object.keys(a.timings))
  })
})

describe('compose image', () => {
  test('writes the composed commit as an image, and leaves an up-to-date image alone', async () => {
    const treefile = path.join(work, 'with-hello.yaml')
    const layout = path.join(work, 'compose-image')
    const composed = await runCli(['compose', 'image', treefile, `oci:${layout}:v1`, '--cachedir', cacheA], {env})
    expect(composed.exitCode).toBe(0)
    expect(composed.stderr).toContain('(no apparent changes since previous commit)')
    const digest = composed.stdout.trim()
    expect((await skopeoInspect(`oci:${layout}:v1`)).Labels['ostree.commit']).toBe(grown.commit)
    const again = await runCli(['compose', 'image', treefile, `oci:${layout}:v1`, '--cachedir', cacheA], {env})
    expect(again.stdout.trim()).toBe(digest)
    expect(again.stderr).toContain(`already holds this commit (${digest})`)
  })
})

describe('container-encapsulate to a registry and to containers-storage', () => {
  test('a push to a registry on 127.0.0.1 is read back by skopeo', async () => {
    const registry = await startRegistry()
    try {
      const destination = `docker://${registry.host}/minimal:latest`
      const pushed = await runCli(['compose', 'container-encapsulate', '--repo', path.join(cacheA, 'staging-repo'), REF, destination, '--no-dest-tls-verify', '--cachedir', cacheA])
      expect(pushed.stderr).not.toMatch(STACK_FRAME)
      expect(pushed.exitCode).toBe(0)
      const image = await skopeoInspect(destination, ['--tls-verify=false'])
      expect(image.Digest).toBe(pushed.stdout.trim())
      expect(image.Labels['containers.bootc']).toBe('1')
    } finally {
      await registry.stop()
    }
  })

  test('a registry that refuses the push is a clear error', async () => {
    const registry = await startRegistry({refuse: 'auth'})
    try {
      const refused = await runCli(['compose', 'container-encapsulate', '--repo', path.join(cacheA, 'staging-repo'), REF, `docker://${registry.host}/minimal:latest`, '--no-dest-tls-verify', '--cachedir', cacheA])
      expect(refused.exitCode).toBe(1)
      expect(refused.stderr).toMatch(new RegExp(`^skopeo copy to docker://${registry.host.replaceAll('.', '\\.')}/minimal:latest failed with exit code 1$`, 'm'))
      expect(refused.stderr).toMatch(/authentication required|unauthorized/)
      expect(refused.stderr).not.toMatch(STACK_FRAME)
      expect(readdirSync(path.join(cacheA, 'work'))).toEqual([])
    } finally {
      await registry.stop()
    }
  })

  test('podman runs it, and examples/derived-image (FROM it, apt-get install) still passes lint', async () => {
    const pushed = await runCli(['compose', 'container-encapsulate', '--repo', path.join(cacheA, 'staging-repo'), REF, 'containers-storage:localhost/apt-ostree-minimal:latest', '--cachedir', cacheA], {env: podmanEnv()})
    expect(pushed.exitCode).toBe(0)
    const listed = await podman(['run', '--rm', '--network', 'none', 'localhost/apt-ostree-minimal:latest', 'dpkg', '-l'])
    expect(listed.exitCode).toBe(0)
    expect(listed.stdout.split('\n').filter((line) => line.startsWith('ii ')).length).toBe(grown.packages.length)
    // examples/derived-image: podman build FROM the image (apt-get install), then container lint.
    const built = await execa(path.join(repoRoot, 'examples/derived-image/build.sh'), ['localhost/apt-ostree-minimal:latest', 'localhost/apt-ostree-derived:latest'], {env: {...podmanEnv(), CI: 'true'}, all: true, reject: false, timeout: 15 * 60_000})
    expect(built.all).toMatch(/tree v\d/)
    expect(built.all).toMatch(/Checks passed: \d+/)
    expect(built.exitCode, built.all.slice(-3000)).toBe(0)
  })
})

describe('as an ordinary user with subordinate ids, from a fresh clone', () => {
  // The README's commands in a clone in the user's home, from an empty cache:
  // the same commit and manifest digest as root's compose above, and the
  // image lints and boots. Made and removed here.
  let user: OrdinaryUser
  let composed: Composed
  const userArchive = (): string => path.join(user.home, 'out/minimal.ociarchive')

  beforeAll(async () => {
    user = await ordinaryUser('apt-ostree-ci')
    const result = await user.run(['./bin/run.js', 'compose', 'tree', TREEFILE, '--container', '-o', `oci-archive:${userArchive()}`, '--json'], {SOURCE_DATE_EPOCH})
    if (result.exitCode !== 0) throw new Error(`compose as ${user.name} failed (${result.exitCode}):\n${result.all}`)
    composed = JSON.parse(result.stdout) as Composed
  })
  afterAll(async () => user?.remove())

  test('the same commit and manifest digest as root, its cache and image owned by the user', async () => {
    if (JSON.stringify(composed.packages) !== JSON.stringify(first.packages)) {
      // The archive moved between the composes: different inputs, different image.
      console.warn(`the Debian archive changed between the two composes; packages differ: ${composed.packages.filter((id) => !first.packages.includes(id)).join(', ')}`)
      return
    }
    expect(composed.commit).toBe(first.commit)
    expect(composed.image.manifestDigest).toBe(first.image.manifestDigest)
    const uid = Number((await execa('id', ['-u', user.name])).stdout)
    for (const owned of [userArchive(), path.join(user.home, '.cache/apt-ostree'), path.join(user.home, '.cache/apt-ostree/staging-repo/config')]) expect(statSync(owned).uid).toBe(uid)
  })

  test('container lint passes as the user', async () => {
    const lint = await user.run(['./bin/run.js', 'container', 'lint', `oci-archive:${userArchive()}`])
    expect(lint.exitCode, lint.all).toBe(0)
  })

  test('vm boot of the image as the user: its filesystem, committed back and deployed, reaches multi-user.target', async () => {
    const booted = await user.run(['./bin/run.js', 'vm', 'boot', `oci-archive:${userArchive()}`, '--timeout', '900'])
    expect(booted.exitCode, booted.all.slice(-3000)).toBe(0)
    expect(booted.stdout).toMatch(/^reached multi-user\.target in \d+(\.\d)? s$/m)
    expect(booted.stdout).toContain('failed units: none')
    expect(booted.stdout).toContain('composefs on /: no')
    expect(booted.stdout).toMatch(/kernel command line: .*ostree=\/ostree\/boot\.\d\//)
    // Boot hygiene: the journal's err-level lines are reported, and none is systemd-tmpfiles' (the /home, /srv, /root links).
    expect(booted.stdout).toMatch(/^err-level journal lines: /m)
    expect(booted.stdout).not.toMatch(/^ {2}systemd-tmpfiles: /m)
    expect(readdirSync(path.join(user.home, '.cache/apt-ostree/work'))).toEqual([])
  })
})
