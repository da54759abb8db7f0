import {execa, type Result} from 'execa'
import {createHash} from 'node:crypto'
import {closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {podman, podmanEnv, podmanStorageDriver, resetPodman} from '../helpers/podman.js'
import {REGISTRY_CREDENTIALS, startRegistry, type Registry} from '../helpers/registry.js'

// The host plumbing later tests push images through, checked without any
// apt-ostree code: a hand-written one-layer OCI layout goes to a private
// registry (docker-registry), to the private containers-storage, and runs and
// builds in podman.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-plumbing-'))
const layout = path.join(work, 'oci')
const TAG = 'tiny'
const IMAGE = 'localhost/tiny:latest'
const BUILT = 'localhost/tiny-built:latest'
const busybox = staticBusybox('/bin/busybox')

const timings: Array<[string, number]> = []
async function timed<T>(step: string, run: () => Promise<T>): Promise<T> {
  const start = performance.now()
  try {
    return await run()
  } finally {
    timings.push([step, Math.round(performance.now() - start)])
  }
}

const skopeo = (args: string[]): Promise<Result<{reject: false}>> => execa('skopeo', args, {env: podmanEnv(), reject: false})

let manifestDigest: string
let driver = 'none'

beforeAll(async () => {
  manifestDigest = await timed('write the OCI layout (tar, gzip -n, JSON)', () => writeTinyLayout(layout))
  await timed('podmanEnv (configs + overlay probe)', async () => podmanEnv())
  driver = podmanStorageDriver()
})

afterAll(async () => {
  try {
    await timed('podman rmi', () => podman(['rmi', '--force', '--ignore', IMAGE, BUILT]))
    await timed('podman system reset + rm store', resetPodman)
  } finally {
    rmSync(work, {recursive: true, force: true})
    const width = Math.max(...timings.map(([step]) => step.length))
    console.log(`plumbing timings (storage driver ${driver}):\n${timings.map(([step, ms]) => `  ${step.padEnd(width)} ${String(ms).padStart(6)} ms`).join('\n')}`)
  }
})

describe('a private docker-registry', () => {
  let registry: Registry
  let ref: string
  let copy: Result

  beforeAll(async () => {
    registry = await timed('start docker-registry', () => startRegistry())
    ref = `docker://${registry.host}/tiny:latest`
    copy = await timed('skopeo copy oci: -> docker://', () => skopeo(['copy', '--dest-tls-verify=false', `oci:${layout}:${TAG}`, ref]))
  })

  afterAll(async () => {
    await timed('stop docker-registry', () => registry?.stop() ?? Promise.resolve())
  })

  test('listens on 127.0.0.1 on a port of its own', () => {
    expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(registry.host).not.toBe('127.0.0.1:5000')
  })

  test('skopeo copy pushes the layout; skopeo inspect reads back the same manifest digest', async () => {
    expect(copy.exitCode, String(copy.stderr)).toBe(0)
    const inspect = await timed('skopeo inspect docker://', () => skopeo(['inspect', '--tls-verify=false', ref]))
    expect(inspect.exitCode, inspect.stderr).toBe(0)
    const info = JSON.parse(inspect.stdout) as {Digest: string; Architecture: string; Os: string; Layers: string[]}
    expect(info.Digest).toBe(manifestDigest)
    expect(info).toMatchObject({Architecture: 'amd64', Os: 'linux'})
    expect(info.Layers).toHaveLength(1)
  })

  test('a read-only registry refuses the push: non-zero exit, 405 on the layer upload', async () => {
    const refusing = await timed('start read-only docker-registry', () => startRegistry({refuse: 'readonly'}))
    try {
      const push = await timed('refused push (read-only)', () =>
        skopeo(['copy', '--dest-tls-verify=false', `oci:${layout}:${TAG}`, `docker://${refusing.host}/tiny:latest`]),
      )
      expect(push.exitCode).not.toBe(0)
      expect(push.stderr).toMatch(/writing blob: initiating layer upload to \/v2\/tiny\/blobs\/uploads\/ in 127\.0\.0\.1:\d+: StatusCode: 405, Method not allowed/)
    } finally {
      await refusing.stop()
    }
  })

  test('an htpasswd registry refuses an anonymous push (unauthorized) and takes REGISTRY_CREDENTIALS', async () => {
    const guarded = await timed('start htpasswd docker-registry', () => startRegistry({refuse: 'auth'}))
    try {
      const dest = `docker://${guarded.host}/tiny:latest`
      const anonymous = await timed('refused push (no credentials)', () => skopeo(['copy', '--dest-tls-verify=false', `oci:${layout}:${TAG}`, dest]))
      expect(anonymous.exitCode).not.toBe(0)
      expect(anonymous.stderr).toMatch(/unauthorized: authentication required/)
      const creds = `${REGISTRY_CREDENTIALS.username}:${REGISTRY_CREDENTIALS.password}`
      const wrong = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `${REGISTRY_CREDENTIALS.username}:wrong`, `oci:${layout}:${TAG}`, dest])
      expect(wrong.exitCode).not.toBe(0)
      expect(wrong.stderr).toMatch(/unauthorized: authentication required/)
      const push = await timed('push with credentials', () => skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${layout}:${TAG}`, dest]))
      expect(push.exitCode, push.stderr).toBe(0)
      const digest = await skopeo(['inspect', '--tls-verify=false', '--creds', creds, '--format', '{{.Digest}}', dest])
      expect(digest.stdout.trim()).toBe(manifestDigest)
    } finally {
      await guarded.stop()
    }
  })
})

describe('the private containers-storage and podman', () => {
  let copy: Result

  beforeAll(async () => {
    copy = await timed('skopeo copy oci: -> containers-storage:', () => skopeo(['copy', `oci:${layout}:${TAG}`, `containers-storage:${IMAGE}`]))
  })

  test('skopeo copy to containers-storage: is what podman sees, same digest', async () => {
    expect(copy.exitCode, String(copy.stderr)).toBe(0)
    expect((await timed('podman image exists', () => podman(['image', 'exists', IMAGE]))).exitCode).toBe(0)
    const digest = await podman(['image', 'inspect', '--format', '{{.Digest}}', IMAGE])
    expect(digest.stdout.trim()).toBe(manifestDigest)
    expect(driver).toMatch(/^(overlay|vfs)$/)
    // Nothing in the host's storage.conf / containers.conf is used.
    expect((await podman(['info', '--format', '{{.Store.GraphRoot}}'])).stdout).toContain(os.tmpdir())
  })

  test.skipIf(!busybox)('podman run --network none runs the image: ok', async () => {
    const run = await timed('podman run --rm --network none', () => podman(['run', '--rm', '--network', 'none', IMAGE, '/bin/busybox', 'echo', 'ok']))
    expect(run.stderr).toBe('')
    expect(run).toMatchObject({exitCode: 0, stdout: 'ok'})
  })

  test.skipIf(!busybox)('podman build --network host: FROM the image, RUN a command, one more layer', async () => {
    const context = path.join(work, 'context')
    mkdirSync(context)
    writeFileSync(path.join(context, 'Containerfile'), `FROM ${IMAGE}\nRUN /bin/busybox true\n`)
    const build = await timed('podman build --network host (FROM + RUN)', () => podman(['build', '--network', 'host', '--tag', BUILT, context]))
    expect(build.exitCode, build.stderr).toBe(0)
    const layers = await podman(['image', 'inspect', '--format', '{{len .RootFS.Layers}}', BUILT])
    expect(layers.stdout.trim()).toBe('2')
  })
})

/** `file` if it is a statically linked ELF (no PT_INTERP), to run in an image with no libc. */
function staticBusybox(file: string): string | undefined {
  if (!existsSync(file)) return undefined
  const fd = openSync(file, 'r')
  try {
    const header = Buffer.alloc(64)
    readSync(fd, header, 0, 64, 0)
    if (header.toString('latin1', 0, 4) !== '\x7fELF' || header[4] !== 2) return undefined
    const phoff = Number(header.readBigUInt64LE(0x20))
    const phentsize = header.readUInt16LE(0x36)
    const phnum = header.readUInt16LE(0x38)
    const table = Buffer.alloc(phentsize * phnum)
    readSync(fd, table, 0, table.length, phoff)
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === 3) return undefined
    return file
  } finally {
    closeSync(fd)
  }
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

/** Write a JSON blob into the layout; its descriptor fields. */
function putBlob(dir: string, data: Buffer): {digest: string; size: number} {
  const hex = sha256(data)
  writeFileSync(path.join(dir, 'blobs/sha256', hex), data)
  return {digest: `sha256:${hex}`, size: data.length}
}

/**
 * An OCI image layout with one gzip layer: a static /bin/busybox and
 * /bin/sh -> busybox (for shell-form RUN), or a single file without busybox.
 * Returns the manifest digest.
 */
async function writeTinyLayout(dir: string): Promise<string> {
  const root = path.join(work, 'rootfs')
  mkdirSync(path.join(root, 'bin'), {recursive: true})
  if (busybox) {
    copyFileSync(busybox, path.join(root, 'bin/busybox'))
    symlinkSync('busybox', path.join(root, 'bin/sh'))
  } else {
    writeFileSync(path.join(root, 'hello.txt'), 'hello\n')
  }
  const tar = path.join(work, 'layer.tar')
  await execa('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', root, '-cf', tar, '.'])
  const diffId = `sha256:${sha256(readFileSync(tar))}`
  await execa('gzip', ['-n', tar])

  mkdirSync(path.join(dir, 'blobs/sha256'), {recursive: true})
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  const layerData = readFileSync(`${tar}.gz`)
  const layer = {digest: `sha256:${sha256(layerData)}`, size: layerData.length}
  renameSync(`${tar}.gz`, path.join(dir, 'blobs/sha256', layer.digest.slice('sha256:'.length)))
  const config = putBlob(
    dir,
    Buffer.from(JSON.stringify({architecture: 'amd64', os: 'linux', config: {}, rootfs: {type: 'layers', diff_ids: [diffId]}})),
  )
  const manifest = putBlob(
    dir,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {mediaType: 'application/vnd.oci.image.config.v1+json', ...config},
        layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer}],
      }),
    ),
  )
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: {'org.opencontainers.image.ref.name': TAG}}],
    }),
  )
  return manifest.digest
}
