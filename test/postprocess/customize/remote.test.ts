import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, test} from 'vitest'
import {addFiles} from '../../../src/postprocess/customize/files.js'
import {remoteConfig} from '../../../src/postprocess/customize/remote.js'
import {fixtureContext} from '../../helpers/stage-context.js'

let root: string
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-remote-'))
  mkdirSync(path.join(root, 'etc/ostree/remotes.d'), {recursive: true})
})
afterEach(() => rmSync(root, {recursive: true, force: true}))

const KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----\n'

describe('remote', () => {
  test('with keys: verifying on for commits and the summary, the keys in /usr, a package\'s same-named remote replaced', async () => {
    writeFileSync(path.join(root, 'etc/ostree/remotes.d/updates.conf'), '[remote "updates"]\nurl=http://package.example/\n')
    const fixture = await fixtureContext(root, {remote: {name: 'updates', url: 'https://updates.example.com/repo', 'gpg-keys': ['a key.asc']}}, {files: {'a key.asc': KEY}})
    try {
      await addFiles.run(fixture.context)
      await remoteConfig.run(fixture.context)
    } finally {
      await fixture.dispose()
    }
    const conf = readFileSync(path.join(root, 'etc/ostree/remotes.d/updates.conf'), 'utf8')
    expect(conf).toContain('[remote "updates"]\nurl=https://updates.example.com/repo\ngpg-verify=true\ngpg-verify-summary=true\ngpgkeypath=/usr/share/apt-ostree/remotes/updates/0-a_key.asc\n')
    expect(readFileSync(path.join(root, 'usr/share/apt-ostree/remotes/updates/0-a_key.asc'), 'utf8')).toBe(KEY)
  })

  test('without keys: no verification; no remote key: nothing written', async () => {
    const fixture = await fixtureContext(root, {remote: {name: 'plain', url: 'file:///srv/repo'}})
    await remoteConfig.run(fixture.context).finally(() => fixture.dispose())
    expect(readFileSync(path.join(root, 'etc/ostree/remotes.d/plain.conf'), 'utf8')).toMatch(/gpg-verify=false\ngpg-verify-summary=false\n$/)
    const none = await fixtureContext(root)
    await remoteConfig.run(none.context).finally(() => none.dispose())
    expect(readFileSync(path.join(root, 'etc/ostree/remotes.d/plain.conf'), 'utf8')).toContain('file:///srv/repo')
  })
})
