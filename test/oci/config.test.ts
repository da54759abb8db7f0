import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {imageConfigDocument, imageLabels, readImageConfig, type CommitFacts} from '../../src/oci/config.js'

const facts: CommitFacts = {commit: 'c'.repeat(64), timestamp: 1767225600, filesTimestamp: 1767225600, architecture: 'arm64', version: '13.1', bootable: true, kernelVersion: '6.12.0', inputHash: 'h', containerCmd: ['/sbin/init']}

describe('imageLabels', () => {
  it('has the ostree-ext labels, then --image-config Labels, then --label, sorted', () => {
    const labels = imageLabels(facts, {Labels: {a: 'config', b: 'config'}}, {b: 'flag', 'ostree.linux': 'override'})
    expect(labels).toEqual({
      a: 'config',
      'apt-ostree.inputhash': 'h',
      b: 'flag',
      'containers.bootc': '1',
      'org.opencontainers.image.version': '13.1',
      'ostree.bootable': 'true',
      'ostree.commit': facts.commit,
      'ostree.linux': 'override',
    })
    expect(Object.keys(labels)).toEqual(Object.keys(labels).sort())
  })

  it('leaves out the bootc labels for a commit without a kernel', () => {
    expect(imageLabels({...facts, bootable: false, kernelVersion: undefined}, undefined, {})).not.toHaveProperty('containers.bootc')
  })
})

describe('imageConfigDocument', () => {
  it('names the platform the OCI way, dates everything at the commit, takes Cmd from container-cmd', () => {
    const document = imageConfigDocument(facts, {x: 'y'}, {Env: ['PATH=/usr/bin']}, ['sha256:1', 'sha256:2'], ['kernel', 'Reserved for new packages'])
    expect(document).toEqual({
      created: '2026-01-01T00:00:00Z',
      architecture: 'arm64',
      variant: 'v8',
      os: 'linux',
      config: {Env: ['PATH=/usr/bin'], Cmd: ['/sbin/init'], Labels: {x: 'y'}},
      rootfs: {type: 'layers', diff_ids: ['sha256:1', 'sha256:2']},
      history: [
        {created: '2026-01-01T00:00:00Z', created_by: 'kernel'},
        {created: '2026-01-01T00:00:00Z', created_by: 'Reserved for new packages'},
      ],
    })
  })
})

describe('readImageConfig', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-config-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  let written = 0
  const file = (text: string): string => {
    const name = path.join(dir, `${++written}-config.json`)
    writeFileSync(name, text)
    return name
  }

  it('reads the config part of an OCI image config', async () => {
    expect(await readImageConfig(file('{"Cmd": ["/bin/bash"], "Labels": {"a": "b"}, "ExposedPorts": {"22/tcp": {}}}'))).toEqual({Cmd: ['/bin/bash'], Labels: {a: 'b'}, ExposedPorts: {'22/tcp': {}}})
  })

  it.each([
    ['[]', 'the image config must be a JSON object'],
    ['{"Foo": 1}', 'unknown image config key "Foo" (known: Env, Cmd, Entrypoint, WorkingDir, User, Labels, ExposedPorts, Volumes, StopSignal)'],
    ['{"Labels": {"a": 1}}', 'image config Labels values must be strings'],
    ['{"User": 0}', 'image config key "User" must be a string'],
    ['{', 'the image config is not valid JSON'],
  ])('rejects %s', async (text, message) => {
    const name = file(text)
    await expect(readImageConfig(name)).rejects.toThrow(`${name}: ${message}`)
  })
})
