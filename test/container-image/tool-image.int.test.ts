import {existsSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {repoRoot, runCli} from '../helpers/cli.js'
import {podman, podmanEnv, resetPodman, type PodmanResult} from '../helpers/podman.js'

// The tool's own image (issue 7), built the way a host without a registry
// builds it: scripts/make-base-image.sh bootstraps the Debian base, podman
// builds the Containerfile on it, and the image composes the default
// treefile into a mounted directory that the host then inspects and lints.
const BASE = 'localhost/debian:trixie'
const IMAGE = 'localhost/apt-ostree:test'
const TREEFILE = 'treefiles/debian-trixie-minimal.yaml'
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-tool-image-'))
const out = path.join(work, 'out')
const cache = path.join(work, 'cache')
const archive = path.join(out, 'minimal.ociarchive')
// Where update-ca-certificates puts the host's CAs, local ones included: a
// proxy that re-signs TLS (as this test's sandbox does) is trusted by npm ci
// in the build only through it. Handed in as a build secret, so no layer holds it.
const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'

/** The last lines of a command's output: enough to see why it failed. */
function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n')
}

/** Throw with the command and its output's tail unless it exited 0. */
function check(what: string, result: PodmanResult): PodmanResult {
  if (result.exitCode !== 0) throw new Error(`${what} failed (exit ${result.exitCode})\n--- stderr (tail) ---\n${tail(result.stderr)}\n--- stdout (tail) ---\n${tail(result.stdout, 10)}`)
  return result
}

async function timed<T>(label: string, step: () => Promise<T>): Promise<T> {
  const start = performance.now()
  const result = await step()
  console.info(`${label}: ${((performance.now() - start) / 1000).toFixed(1)} s`)
  return result
}

/**
 * `podman run` of the tool image as a compose needs it: privileged, because
 * the sandbox makes namespaces and mounts a fresh /proc; the output and the
 * cache dir bound from the host.
 */
function runTool(args: string[]): Promise<PodmanResult> {
  return podman(['run', '--rm', '--privileged', '-v', `${out}:/out`, '-v', `${cache}:/var/cache/apt-ostree`, IMAGE, ...args])
}

beforeAll(async () => {
  mkdirSync(out)
  mkdirSync(cache)
  const made = await timed('make-base-image.sh', () => execa(path.join(repoRoot, 'scripts/make-base-image.sh'), [BASE], {env: podmanEnv(), reject: false}))
  check('scripts/make-base-image.sh', {exitCode: made.exitCode ?? 1, stdout: made.stdout, stderr: made.stderr || String(made.message)})
  const secret = existsSync(HOST_CA_BUNDLE) ? ['--secret', `id=ca-certificates,src=${HOST_CA_BUNDLE}`] : []
  check('podman build', await timed('podman build', () => podman(['build', '--build-arg', `BASE=${BASE}`, ...secret, '-t', IMAGE, repoRoot])))
  const size = Number(check('podman image inspect', await podman(['image', 'inspect', '--format', '{{.Size}}', IMAGE])).stdout)
  console.info(`image size: ${(size / 1e6).toFixed(0)} MB`)
})

afterAll(async () => {
  await resetPodman()
  rmSync(work, {recursive: true, force: true})
})

describe('the tool image', () => {
  test('runs the CLI and finds every host tool', async () => {
    const version = check('podman run IMAGE --version', await podman(['run', '--rm', IMAGE, '--version']))
    expect(version.stdout).toMatch(/^apt-ostree\/\d+\.\d+\.\d+ linux-x64 node-v20\./)
    const doctor = check('podman run IMAGE doctor', await runTool(['doctor', '--json']))
    const {tools, install, checks} = JSON.parse(doctor.stdout) as {tools: Array<{name: string; found: boolean; optional: boolean}>; install?: string; checks: Array<{name: string; ok: boolean; optional?: boolean}>}
    // The image is for amd64 hosts: another architecture's emulator and firmware are optional.
    expect(tools.filter((tool) => !tool.found && !tool.optional).map((tool) => tool.name)).toEqual([])
    expect(install).toBeUndefined()
    expect(checks.filter((entry) => !entry.optional).map((entry) => `${entry.name}: ${entry.ok}`)).toEqual(['sandbox setup: true', 'sandbox: true', 'user xattrs: true'])
    // Whether arm64 trees can be composed depends on the host's binfmt_misc: reported, optional.
    expect(checks.filter((entry) => entry.optional).map((entry) => entry.name)).toEqual(['arm64 trees'])
  })

  test('holds the built CLI without npm, sources or dev dependencies', async () => {
    const listing = check('listing the image', await podman(['run', '--rm', '--entrypoint', 'sh', IMAGE, '-c', 'ls -A; ls node_modules/typescript node_modules/vitest 2>&1; command -v npm || echo no npm']))
    expect(listing.stdout.split('\n')).toEqual([
      'bin', 'dist', 'node_modules', 'oclif.manifest.json', 'package.json', 'schemas', 'treefiles',
      "ls: cannot access 'node_modules/typescript': No such file or directory",
      "ls: cannot access 'node_modules/vitest': No such file or directory",
      'no npm',
    ])
  })

  test('composes the default treefile into a mounted directory', async () => {
    const composeArgs = ['compose', 'tree', TREEFILE, '--repo', '/out/repo', '--container', '-o', 'oci-archive:/out/minimal.ociarchive']
    const composed = check('compose tree in the container', await timed('compose in the container', () => runTool([...composeArgs, '--json'])))
    const result = JSON.parse(composed.stdout) as {commit: string; image: {manifestDigest: string}}
    expect(existsSync(archive)).toBe(true)
    const image = JSON.parse((await execa('skopeo', ['inspect', `oci-archive:${archive}`])).stdout) as {Digest: string; Labels: Record<string, string>}
    expect(image.Labels).toMatchObject({'containers.bootc': '1', 'ostree.commit': result.commit})
    expect(image.Digest).toBe(result.image.manifestDigest)
    const lint = await runCli(['container', 'lint', `oci-archive:${archive}`])
    if (lint.exitCode !== 0) throw new Error(`container lint on the host failed (exit ${lint.exitCode}):\n${lint.stdout}\n${tail(lint.stderr)}`)

    // The cache volume outlives the container: the next one has nothing to do.
    const again = check('second compose tree in the container', await timed('second compose (cache volume reused)', () => runTool(composeArgs)))
    expect(again.stdout).toContain('No apparent changes since previous commit')
  })
})
