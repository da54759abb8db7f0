import {execa} from 'execa'
import {mkdtempSync, rmSync} from 'node:fs'
import {chown, mkdir, readFile, readlink, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, expect, test} from 'vitest'
import {AUTOVAR_CONF, varToTmpfiles} from '../../../src/postprocess/ostreeify/var.js'
import {sysusers, SYSUSERS_CONF} from '../../../src/postprocess/ostreeify/sysusers.js'
import {walkTree} from '../../../src/fs.js'
import {fixtureContext, type FixtureContext} from '../../helpers/stage-context.js'

// Names a package chose end up in tmpfiles.d and sysusers.d lines as data:
// systemd-tmpfiles (the host's 252, the strictest reader the targets have)
// makes from the lines exactly the /var the tree had, and a name that cannot
// be written is dropped with a warning, not written as syntax.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-var-'))
const root = path.join(work, 'tree')
let fixture: FixtureContext
afterAll(async () => {
  await fixture?.dispose()
  rmSync(work, {recursive: true, force: true})
})

beforeAll(async () => {
  await mkdir(path.join(root, 'etc'), {recursive: true})
  await mkdir(path.join(root, 'usr/lib/tmpfiles.d'), {recursive: true})
  await writeFile(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\nbad name:x:1234:1234:"quoted" \\ gecos:/home/x y:/bin/sh\nsvc:x:999:999:Service "one"\\:/var/lib/svc:/usr/sbin/nologin\n')
  await writeFile(path.join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\nbad name:x:1234:\nsvc:x:999:\n')
  await mkdir(path.join(root, 'var/lib/we ird%x'), {recursive: true})
  await mkdir(path.join(root, 'var/lib/owned'), {mode: 0o750})
  await chown(path.join(root, 'var/lib/owned'), 1234, 999)
  await mkdir(path.join(root, 'var/lib/new\nline'))
  await mkdir(path.join(root, 'var/lib/back\\slash'))
  await symlink('../lib/we ird%x', path.join(root, 'var/lib/link sp'))
  await symlink('ta\trget', path.join(root, 'var/lib/tab-link'))
  await symlink('/var/lib/owned', path.join(root, 'var/lib/absolute-link'))
  fixture = await fixtureContext(root)
})

async function listing(directory: string): Promise<string[]> {
  const entries: string[] = []
  for await (const entry of walkTree(directory)) {
    const what = entry.stats.isSymbolicLink() ? `-> ${await readlink(entry.absolute)}` : `${(entry.stats.mode & 0o7777).toString(8)} ${entry.stats.uid}:${entry.stats.gid}`
    entries.push(`${JSON.stringify(entry.relative)} ${what}`)
  }
  return entries
}

test('/var becomes tmpfiles.d lines that make the same directories and links', async () => {
  const unnameable = [JSON.stringify('lib/new\nline'), JSON.stringify('lib/back\\slash')]
  const before = (await listing(path.join(root, 'var'))).filter((line) => !unnameable.some((name) => line.startsWith(name)) && !line.includes('-> /'))
  await varToTmpfiles.run(fixture.context)
  const conf = path.join(root, 'usr/lib/tmpfiles.d', AUTOVAR_CONF)
  const made = path.join(work, 'made')
  // The tree's accounts: systemd-tmpfiles --root resolves names there.
  await mkdir(path.join(made, 'etc'), {recursive: true})
  for (const file of ['passwd', 'group']) await writeFile(path.join(made, 'etc', file), await readFile(path.join(root, 'etc', file)))
  await execa('systemd-tmpfiles', [`--root=${made}`, '--create', conf])
  const after = await listing(path.join(made, 'var'))
  for (const line of before) expect(after).toContain(line)
  // An absolute link in /var is written relative: it resolves in any root.
  expect(after).toContain('"lib/absolute-link" -> owned')
  expect(fixture.warnings).toEqual([`dropped 2 entries from /var whose names tmpfiles.d cannot hold (control characters, quotes, backslashes): ${JSON.stringify('/var/lib/back\\slash')}, ${JSON.stringify('/var/lib/new\nline')}`])
})

test('sysusers.d lines: names that are no account names are left out, GECOS and paths cannot break the line', async () => {
  await sysusers.run(fixture.context)
  const lines = (await readFile(path.join(root, 'usr/lib/sysusers.d', SYSUSERS_CONF), 'utf8')).split('\n').filter((line) => line && !line.startsWith('#'))
  expect(lines).toEqual(['g root 0', 'g nogroup 65534', 'g svc 999', 'u root 0:0 "root" /root /bin/bash', 'u _apt 42:65534 - /nonexistent /usr/sbin/nologin', 'u svc 999:999 "Service one" /var/lib/svc /usr/sbin/nologin'])
})
