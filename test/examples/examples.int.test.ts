import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {repoRoot} from '../helpers/cli.js'
import {REGISTRY_CREDENTIALS, startRegistry, type Registry} from '../helpers/registry.js'

// examples/, run as the README of examples/ shows: the custom treefile
// (add-files, a postprocess script) composed straight into a registry that
// wants credentials, pulled back and booted. examples/derived-image is built
// in test/oci/image.int.test.ts, FROM the image composed there.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-examples-'))
const authfile = path.join(work, 'auth.json')
let registry: Registry
let destination: string

async function example(script: string, args: string[]): Promise<{exitCode: number; all: string}> {
  const result = await execa(path.join(repoRoot, 'examples', script), args, {cwd: repoRoot, all: true, reject: false, env: {CI: 'true', REGISTRY_AUTH_FILE: authfile}})
  return {exitCode: result.exitCode ?? 1, all: result.all}
}

beforeAll(async () => {
  registry = await startRegistry({refuse: 'auth'})
  destination = `docker://${registry.host}/example/custom:latest`
  await execa('skopeo', ['login', '--authfile', authfile, '--tls-verify=false', '--username', REGISTRY_CREDENTIALS.username, '--password-stdin', registry.host], {input: REGISTRY_CREDENTIALS.password})
})

afterAll(async () => {
  await registry?.stop()
  rmSync(work, {recursive: true, force: true})
})

describe('examples/', () => {
  test('push-to-registry.sh composes the custom treefile into a registry behind a login', async () => {
    const pushed = await example('push-to-registry.sh', ['examples/custom-treefile/treefile.yaml', destination, '--no-dest-tls-verify', '--cachedir', path.join(work, 'cache')])
    expect(pushed.exitCode, pushed.all.slice(-3000)).toBe(0)
    const inspected = JSON.parse((await execa('skopeo', ['inspect', '--authfile', authfile, '--tls-verify=false', destination])).stdout) as {Labels: Record<string, string>}
    expect(inspected.Labels).toMatchObject({'containers.bootc': '1', 'ostree.bootable': 'true'})
  })

  test('the image holds the add-files and what the postprocess script wrote', async () => {
    await execa('skopeo', ['copy', '--authfile', authfile, '--src-tls-verify=false', destination, `oci:${path.join(work, 'layout')}:custom`])
    const bundle = path.join(work, 'bundle')
    await execa('umoci', ['unpack', '--image', `${path.join(work, 'layout')}:custom`, bundle])
    const rootfs = path.join(bundle, 'rootfs')
    expect(readFileSync(path.join(rootfs, 'etc/motd'), 'utf8')).toBe(readFileSync(path.join(repoRoot, 'examples/custom-treefile/files/motd'), 'utf8'))
    expect(readFileSync(path.join(rootfs, 'usr/lib/sysctl.d/90-example.conf'), 'utf8')).toContain('vm.swappiness = 10')
    expect(readFileSync(path.join(rootfs, 'etc/issue'), 'utf8')).toMatch(/^Debian GNU\/Linux \(apt-ostree example, built \d{4}-\d{2}-\d{2}\)/)
  })

  test('boot-check.sh boots the image pulled back from the registry', async () => {
    const archive = path.join(work, 'custom.ociarchive')
    await execa('skopeo', ['copy', '--authfile', authfile, '--src-tls-verify=false', destination, `oci-archive:${archive}`])
    const booted = await example('boot-check.sh', [`oci-archive:${archive}`, '--cachedir', path.join(work, 'cache'), '--timeout', '900'])
    expect(booted.exitCode, booted.all.slice(-3000)).toBe(0)
    expect(booted.all).toMatch(/^reached multi-user\.target in /m)
  })
})
