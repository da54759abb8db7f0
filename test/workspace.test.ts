import {execa} from 'execa'
import {chmodSync, mkdtempSync, rmSync} from 'node:fs'
import {mkdir, readdir, readFile, stat, utimes, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, expect, test} from 'vitest'
import {buildIdMap} from '../src/sandbox/idmap.js'
import {KEPT_LOGS} from '../src/cache-dir.js'
import {Workspace} from '../src/workspace.js'

// Opening a workspace keeps the cache in bounds: work dirs of commands that
// are gone are removed (those of running ones kept), logs pruned to KEPT_LOGS.
const cache = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-workspace-'))
// The sandbox enters it as an unprivileged id (mkdtemp's 0700 would keep it out).
chmodSync(cache, 0o755)
afterAll(() => rmSync(cache, {recursive: true, force: true}))

async function startTime(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
}

test.runIf(process.getuid?.() === 0)('stale work dirs go, live ones stay, old logs are pruned', async () => {
  const sleeper = execa('sleep', ['600'])
  try {
    const live = sleeper.pid!
    const ended = execa('true')
    const gone = ended.pid!
    await ended
    await mkdir(path.join(cache, 'work', String(live), 'tree'), {recursive: true})
    await writeFile(path.join(cache, 'work', String(live), '.owner'), `${live} ${await startTime(live)}\n`)
    // The pid of a command that ended.
    await mkdir(path.join(cache, 'work', String(gone), 'tree'), {recursive: true})
    await writeFile(path.join(cache, 'work', String(gone), '.owner'), `${gone} 1\n`)
    // Work dirs are the build namespace's root's: one of other ids is no cache of ours.
    const {uids, gids} = await buildIdMap()
    await execa('chown', ['-R', `${uids[0].outer}:${gids[0].outer}`, path.join(cache, 'work')])
    await mkdir(path.join(cache, 'logs'), {recursive: true})
    for (let index = 0; index < KEPT_LOGS + 10; index++) {
      const log = path.join(cache, 'logs', `compose-${String(index).padStart(3, '0')}.log`)
      await writeFile(log, '')
      await utimes(log, 1_700_000_000 + index, 1_700_000_000 + index)
    }
    const workspace = await Workspace.open(cache, 'test')
    await workspace.dispose()
    const work = await readdir(path.join(cache, 'work'))
    expect(work).toContain(String(live))
    expect(work).not.toContain(String(gone))
    const logs = (await readdir(path.join(cache, 'logs'))).sort()
    expect(logs).toHaveLength(KEPT_LOGS)
    // The oldest went; this command's own log is among those kept.
    expect(logs).not.toContain('compose-000.log')
    expect(logs.filter((name) => name.startsWith('test-'))).toHaveLength(1)
  } finally {
    sleeper.kill()
    await sleeper.catch(() => undefined)
  }
})

test.runIf(process.getuid?.() === 0)('a cache dir the sandbox cannot enter is refused, naming the fix', async () => {
  const closed = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-closed-'))
  try {
    await expect(Workspace.open(closed, 'test')).rejects.toThrow(`--cachedir ${closed}: its mode 0700 keeps the sandbox out (it works there as an unprivileged id); chmod o+x it`)
    expect(await readdir(closed)).toEqual([])
  } finally {
    rmSync(closed, {recursive: true, force: true})
  }
})

/** Whether nobody, a user of no group of ours, can read FILE. */
async function nobodyReads(file: string): Promise<boolean> {
  return (await execa('runuser', ['-u', 'nobody', '--', 'cat', file], {reject: false})).exitCode === 0
}

// Logs quote commands, paths, registries and what tools said: their owner's
// alone. The cache dir is 0755, as a user's usually is, so that only the
// logs' own modes keep nobody out.
test.runIf(process.getuid?.() === 0)('logs are their owner\'s: CACHEDIR/logs 0700, each log 0600; an older version\'s 0755 dir and 0644 log are closed', async () => {
  const open = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-logs-'))
  chmodSync(open, 0o755)
  try {
    const logs = path.join(open, 'logs')
    await mkdir(logs, {mode: 0o755})
    chmodSync(logs, 0o755)
    const old = path.join(logs, 'compose-old.log')
    await writeFile(old, 'what an older version logged\n', {mode: 0o644})
    chmodSync(old, 0o644)
    // The attack works on what an older version left.
    expect(await nobodyReads(old)).toBe(true)
    const workspace = await Workspace.open(open, 'test')
    workspace.log.write('a line of this command')
    await workspace.dispose()
    expect((await stat(logs)).mode & 0o777).toBe(0o700)
    for (const file of [workspace.log.path, old]) {
      expect((await stat(file)).mode & 0o777).toBe(0o600)
      expect(await nobodyReads(file)).toBe(false)
    }
    expect(await readFile(workspace.log.path, 'utf8')).toContain('a line of this command')
  } finally {
    rmSync(open, {recursive: true, force: true})
  }
})
