import {execa} from 'execa'
import {chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {makePrivateDirectory} from '../../src/cache-dir.js'
import {SANDBOX_CACHE} from '../../src/sandbox/bwrap.js'
import {Workspace} from '../../src/workspace.js'

// A sandboxed job sees the parts of the cache dir it is granted and nothing
// else of it, through any path: not another build's cached tree, not the
// records of the cached trees' digests, not the logs; /proc/1/root (where a
// package's maintainer script reaches mmdebstrap's view) shows the same.
const cache = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-grants-'))
// The sandbox enters it as an unprivileged id (mkdtemp's 0700 would keep it out).
chmodSync(cache, 0o755)
let workspace: Workspace
let job: string

beforeAll(async () => {
  workspace = await Workspace.open(cache, 'test')
  const rootfs = await workspace.sandboxDirectory('rootfs')
  mkdirSync(path.join(rootfs, 'another-tree'))
  writeFileSync(path.join(rootfs, 'another-tree', 'bin-su'), '')
  await makePrivateDirectory(path.join(cache, 'records'))
  job = await workspace.ownedDirectory(path.join(workspace.workDir, 'job'))
})

afterAll(async () => {
  await workspace?.dispose()
  rmSync(cache, {recursive: true, force: true})
})

const listing = async (view: string, grant: {write?: string[]; read?: string[]}): Promise<string[]> => {
  // No grant at all: not even the directory is there.
  const {stdout} = await workspace.sandbox.run(['sh', '-c', 'test ! -e "$1" || find "$1" -mindepth 1', 'sh', view], {log: workspace.log, grant})
  return stdout.split('\n').filter(Boolean).map((line) => line.slice(view.length)).sort()
}

describe.runIf(process.getuid?.() === 0)('what a sandboxed job sees of the cache dir', () => {
  test('only its grants, directly and through /proc/1/root', async () => {
    const seen = ['/work', `/work/${process.pid}`, `/work/${process.pid}/job`]
    expect(await listing(SANDBOX_CACHE, {write: [job]})).toEqual(seen)
    expect(await listing(`/proc/1/root${SANDBOX_CACHE}`, {write: [job]})).toEqual(seen)
    expect(await listing(SANDBOX_CACHE, {})).toEqual([])
  })

  test('a read grant is read-only', async () => {
    await expect(workspace.sandbox.run(['touch', `${workspace.sandbox.inside(job)}/file`], {log: workspace.log, grant: {read: [job]}})).rejects.toThrow(/touch failed/)
  })

  test('a granted path that is a link is refused before bwrap would follow it', async () => {
    symlinkSync('/etc', path.join(job, 'etc-link'))
    await expect(workspace.sandbox.run(['true'], {log: workspace.log, grant: {write: [path.join(job, 'etc-link')]}})).rejects.toThrow(/etc-link: is a symbolic link where the tool made a directory or file of its own; refused$/)
  })

  test('another user can neither run a cached tree\'s setuid program nor write into any cache entry', async () => {
    // A setuid copy of id(1), as a cached tree holds su and mount: owned by the build namespace's root, mode 4755.
    const tree = path.join(cache, 'rootfs', 'another-tree')
    copyFileSync('/usr/bin/id', path.join(tree, 'id'))
    chownSync(path.join(tree, 'id'), workspace.sandboxOwner!.uid, workspace.sandboxOwner!.gid)
    chmodSync(path.join(tree, 'id'), 0o4755)
    const asNobody = (...command: string[]) => execa('runuser', ['-u', 'nobody', '--', ...command], {reject: false})
    expect((await asNobody(path.join(tree, 'id'), '-u')).exitCode).not.toBe(0)
    for (const entry of ['rootfs', 'records', 'work', 'logs', path.join('work', String(process.pid))]) {
      expect((await asNobody('touch', path.join(cache, entry, 'planted'))).exitCode, entry).not.toBe(0)
      expect((await asNobody('ls', path.join(cache, entry))).exitCode, entry).not.toBe(0)
    }
  })

  test('cached trees are closed to other users; the records are the host\'s own', () => {
    const rootfs = statSync(path.join(cache, 'rootfs'))
    expect(rootfs.mode & 0o777).toBe(0o700)
    expect(rootfs.uid).toBe(workspace.sandboxOwner!.uid)
    const records = statSync(path.join(cache, 'records'))
    expect(records.mode & 0o777).toBe(0o700)
    expect(records.uid).toBe(0)
  })
})
