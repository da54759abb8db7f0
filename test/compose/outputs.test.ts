import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, expect, test} from 'vitest'
import {walkTree} from '../../src/fs.js'
import {runSourceCli, STACK_FRAME} from '../helpers/cli.js'

// Outputs and a cache dir that cannot be used are refused before any work,
// with one line naming the flag and exit 2, and nothing is made or changed.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-outputs-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))
writeFileSync(path.join(work, 'file'), 'mine')
mkdirSync(path.join(work, 'stuff'))
writeFileSync(path.join(work, 'stuff/keep'), 'mine')
symlinkSync('/proc/self', path.join(work, 'to-proc'))

async function listing(): Promise<string[]> {
  const entries: string[] = []
  for await (const entry of walkTree(work)) entries.push(`${entry.relative} ${entry.stats.mode.toString(8)} ${entry.stats.size} ${entry.stats.mtimeMs}`)
  return entries
}

const at = (relative: string): string => path.join(work, relative)

test.each([
  [['--repo', at('file')], `--repo ${at('file')}: is a file, not an OSTree repo`],
  [['--repo', at('stuff')], `--repo ${at('stuff')}: is neither an OSTree repo nor empty; give a new or empty directory, or an existing repo`],
  [['--repo', at('file/repo')], `--repo ${at('file/repo')}: cannot write it there (a parent is not a directory)`],
  [['--write-commitid-to', at('stuff')], `--write-commitid-to ${at('stuff')}: is a directory`],
  [['--write-commitid-to', at('file/commit')], `--write-commitid-to ${at('file/commit')}: cannot write it there (a parent is not a directory)`],
  [['--write-composejson-to', at('file/deeper/compose.json')], `--write-composejson-to ${at('file/deeper/compose.json')}: cannot write it there (a parent is not a directory)`],
  [['--write-lockfile-to', at('stuff')], `--write-lockfile-to ${at('stuff')}: is a directory`],
  [['--write-report-to', at('file/report.json')], `--write-report-to ${at('file/report.json')}: cannot write it there (a parent is not a directory)`],
  [['--lockfile-strict'], '--lockfile-strict needs --lockfile FILE'],
  [['--lockfile', at('absent.json')], `--lockfile ${at('absent.json')}: cannot read it (ENOENT)`],
  [['--archive-dir', at('file')], `--archive-dir ${at('file')}: no such directory (compose fetch writes one)`],
  [['--cachedir', '/proc/apt-ostree'], '--cachedir /proc/apt-ostree: is on a kernel file system (/proc, /sys, /dev); choose a directory on a disk'],
  [['--cachedir', at('to-proc/cache')], `--cachedir ${at('to-proc/cache')}: is on a kernel file system (/proc, /sys, /dev); choose a directory on a disk`],
  [['--cachedir', at('a b')], `--cachedir ${at('a b')}: must not contain white space (mmdebstrap hooks split on it)`],
  [['--cachedir', at('file/cache')], `--cachedir ${at('file/cache')}: cannot use it (a parent is not a directory)`],
])('compose tree %j: refused, exit 2, nothing touched', async (args, message) => {
  const before = await listing()
  const cache = args.includes('--cachedir') ? [] : ['--cachedir', at('cache')]
  const result = await runSourceCli(['compose', 'tree', 'treefiles/debian-trixie-minimal.yaml', ...cache, ...args])
  expect(result.stderr.trim()).toBe(message)
  expect(result.exitCode).toBe(2)
  expect(result.stderr).not.toMatch(STACK_FRAME)
  expect(await listing()).toEqual(before)
})
