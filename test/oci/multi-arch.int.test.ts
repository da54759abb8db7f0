import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {gunzipSync} from 'node:zlib'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {cpioEntries} from '../helpers/cpio.js'
import {RepoReader} from '../helpers/ostree.js'
import {outputSchemaErrors} from '../helpers/output-schema.js'

// arm64 beside amd64 from this amd64 host: one compose image with both
// --arch writes an index (the arm64 tree's programs ran through qemu-user);
// each platform passes lint; the arm64 initramfs, which dracut made with the
// host's bash, cp, sed, grep and mkdir, holds only the tree's arm64 programs, and the
// tree keeps none of the host's dpkg-deb that dpkg read the .debs with; the
// arm64 image boots under software emulation, and so does a disk of the
// index's arm64 image, through AAVMF and its own GRUB; an arm64 compose
// again into a fresh repo gives the same commit and manifest; compose tree
// --container with both --arch, on the same cache, finds both commits
// unchanged and writes the same index, as does compose
// container-encapsulate of the two commits.
const TREEFILE = 'treefiles/debian-trixie-minimal.yaml'
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-multi-arch-'))
const cacheDir = path.join(work, 'cache')
const archive = path.join(work, 'multi.ociarchive')
const env = {CI: 'true', SOURCE_DATE_EPOCH: '1767225600'}
/** e_machine of an arm64 ELF file. */
const EM_AARCH64 = 0xb7

interface Platform {
  architecture: string
  commit: string
  manifestDigest: string
}
let platforms: Platform[]

beforeAll(async () => {
  const started = performance.now()
  const composed = await runCli(['compose', 'image', TREEFILE, `oci-archive:${archive}`, '--arch', 'amd64', '--arch', 'arm64', '--cachedir', cacheDir, '--json'], {env})
  if (composed.exitCode !== 0) throw new Error(`compose image failed:\n${composed.stderr}`)
  const result = JSON.parse(composed.stdout) as {platforms: Platform[]; composes: Array<{ref: string; timings: Record<string, number>}>}
  platforms = result.platforms
  console.log(`compose image --arch amd64 --arch arm64: ${Math.round((performance.now() - started) / 1000)} s from an empty cache`)
  for (const compose of result.composes) console.log(`  ${compose.ref}: ${JSON.stringify(compose.timings)}`)
})
afterAll(() => rmSync(work, {recursive: true, force: true}))

describe('compose image --arch amd64 --arch arm64', () => {
  test('writes an index of both platforms (skopeo inspect --raw), each image passes container lint', async () => {
    const index = JSON.parse((await execa('skopeo', ['inspect', '--raw', `oci-archive:${archive}`])).stdout) as {mediaType: string; manifests: Array<{digest: string; platform: object}>}
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    expect(index.manifests.map((manifest) => manifest.platform)).toEqual([{architecture: 'amd64', os: 'linux'}, {architecture: 'arm64', os: 'linux', variant: 'v8'}])
    expect(index.manifests.map((manifest) => manifest.digest)).toEqual(platforms.map((platform) => platform.manifestDigest))
    const lint = await runCli(['container', 'lint', `oci-archive:${archive}`, '--json'])
    const report = JSON.parse(lint.stdout) as {platforms: Array<{architecture: string; failed: number; warnings: number}>}
    expect(outputSchemaErrors('container-lint', report)).toEqual([])
    expect(report.platforms.map(({architecture, failed, warnings}) => [architecture, failed, warnings])).toEqual([['amd64', 0, 0], ['arm64', 0, 0]])
    expect(lint.exitCode).toBe(0)
  })

  test('vm boot --arch arm64 of the image reaches multi-user.target under software emulation, no failed unit', async () => {
    const booted = await runCli(['vm', 'boot', `oci-archive:${archive}`, '--arch', 'arm64', '--cachedir', cacheDir, '--timeout', '1800', '--json'])
    const report = JSON.parse(booted.stdout) as {reached: boolean; seconds: number; failedUnits: string[]; kernelCommandLine: string}
    console.log(`arm64 image: reached ${report.reached} in ${report.seconds} s`)
    expect(report).toMatchObject({reached: true, failedUnits: []})
    expect(report.kernelCommandLine).toContain('console=ttyAMA0')
    expect(booted.exitCode).toBe(0)
  })

  test('the arm64 initramfs holds the tree\'s own programs only: every ELF in it is aarch64, cp, sed and mkdir included (dracut ran with --sysroot, on the host\'s bash, cp, sed and mkdir)', async () => {
    const arm64 = platforms.find((platform) => platform.architecture === 'arm64')!
    const commit = new RepoReader(path.join(cacheDir, 'staging-repo'), arm64.commit)
    const kver = (await commit.metadata('ostree.linux')).replaceAll("'", '')
    const image = await execa('ostree', ['cat', `--repo=${commit.repo}`, arm64.commit, `/usr/lib/modules/${kver}/initramfs.img`], {encoding: 'buffer'})
    const entries = cpioEntries(gunzipSync(image.stdout))
    const elves = entries.filter((entry) => entry.data.subarray(0, 4).equals(Buffer.from('\x7fELF', 'latin1')))
    console.log(`arm64 initramfs: ${entries.length} entries, ${elves.length} ELF files`)
    expect(elves.map((entry) => entry.name)).toEqual(expect.arrayContaining(['usr/bin/cp', 'usr/bin/sed', 'usr/bin/mkdir']))
    expect(elves.filter((entry) => entry.data.readUInt16LE(18) !== EM_AARCH64).map((entry) => entry.name)).toEqual([])
    const parameters = entries.find((entry) => entry.name === 'usr/lib/dracut/build-parameter.txt')!.data.toString()
    expect(parameters).toContain("--sysroot '/run/apt-ostree/sysroot'")
  })

  test('the arm64 tree keeps its own dpkg-deb and tar, aarch64, and nothing of the host\'s that dpkg read the .debs with', async () => {
    const arm64 = platforms.find((platform) => platform.architecture === 'arm64')!
    const commit = new RepoReader(path.join(cacheDir, 'staging-repo'), arm64.commit)
    for (const program of ['/usr/bin/dpkg-deb', '/usr/bin/tar']) {
      const elf = await execa('ostree', ['cat', `--repo=${commit.repo}`, arm64.commit, program], {encoding: 'buffer'})
      expect([program, Buffer.from(elf.stdout).readUInt16LE(18)]).toEqual([program, EM_AARCH64])
    }
    expect(await commit.stat('/run/apt-ostree')).toBeUndefined()
  })

  test('the arm64 tree composed again, into a fresh repo from the cached bootstrapped tree (the emulated dracut and every later stage run again): the same commit and manifest digest', async () => {
    const arm64 = platforms.find((platform) => platform.architecture === 'arm64')!
    const again = await runCli(['compose', 'tree', TREEFILE, '--arch', 'arm64', '--repo', path.join(work, 'repo-again'), '--cachedir', cacheDir, '--container', '-o', `oci-archive:${path.join(work, 'arm64-again.ociarchive')}`, '--json'], {env})
    expect(again.exitCode, again.stderr).toBe(0)
    const rebuilt = JSON.parse(again.stdout) as {commit: string; image: {manifestDigest: string}}
    console.log(`arm64: commit ${arm64.commit}, manifest ${arm64.manifestDigest}\nagain: commit ${rebuilt.commit}, manifest ${rebuilt.image.manifestDigest}`)
    expect([rebuilt.commit, rebuilt.image.manifestDigest]).toEqual([arm64.commit, arm64.manifestDigest])
  })

  test('compose tree --container --arch amd64 --arch arm64 on the same cache: both composes unchanged, the same index', async () => {
    const layout = path.join(work, 'multi-tree')
    const again = await runCli(['compose', 'tree', TREEFILE, '--arch', 'amd64', '--arch', 'arm64', '--cachedir', cacheDir, '--container', '-o', `oci:${layout}`, '--json'], {env})
    expect(again.exitCode, again.stderr).toBe(0)
    const result = JSON.parse(again.stdout) as {platforms: Platform[]; composes: Array<{unchanged?: boolean}>}
    expect(result.composes.map((compose) => compose.unchanged)).toEqual([true, true])
    const digests = (list: Platform[]) => list.map(({architecture, commit, manifestDigest}) => ({architecture, commit, manifestDigest}))
    expect(digests(result.platforms)).toEqual(digests(platforms))
    // The two commits, encapsulated as one index (build-image.yml's publish job): the same again.
    const encapsulated = await runCli(['compose', 'container-encapsulate', '--repo', path.join(cacheDir, 'staging-repo'), ...platforms.map((platform) => platform.commit), `oci:${path.join(work, 'multi-encapsulated')}`, '--cachedir', cacheDir, '--json'])
    expect(encapsulated.exitCode, encapsulated.stderr).toBe(0)
    expect(digests((JSON.parse(encapsulated.stdout) as {platforms: Platform[]}).platforms)).toEqual(digests(platforms))
  })

  test('compose disk-image --arch arm64 of the index (the arm64 commit\'s image) boots through AAVMF and its own GRUB', async () => {
    const disk = path.join(work, 'arm64.qcow2')
    const made = await runCli(['compose', 'disk-image', `oci-archive:${archive}`, '--arch', 'arm64', '-o', disk, '--cachedir', cacheDir, '--json'])
    expect(made.exitCode, made.stderr).toBe(0)
    const arm64 = platforms.find((platform) => platform.architecture === 'arm64')!
    console.log(`arm64 disk of ${arm64.manifestDigest}: ${made.stdout}`)
    const booted = await runCli(['vm', 'boot', disk, '--arch', 'arm64', '--cachedir', cacheDir, '--timeout', '1800', '--json'])
    const report = JSON.parse(booted.stdout) as {reached: boolean; seconds: number; failedUnits: string[]}
    console.log(`arm64 disk: reached ${report.reached} in ${report.seconds} s`)
    expect(report).toMatchObject({reached: true, failedUnits: []})
  })
})
