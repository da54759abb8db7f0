import {mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, expect, test} from 'vitest'
import {renderLockfile} from '../../src/archive/lockfile.js'
import {runSourceCli, STACK_FRAME} from '../helpers/cli.js'

// compose fetch refuses what it cannot write or read, before any network:
// one line, exit 2, the output directory as it was.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-capture-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))
const lockfile = path.join(work, 'lock.json')
writeFileSync(lockfile, renderLockfile({packages: {}, metadata: {archives: []}}))
const full = path.join(work, 'full')
mkdirSync(full)
writeFileSync(path.join(full, 'something'), '')

test.each([
  [['--lockfile', lockfile, '-o', full], `-o ${full}: not empty; give a new or empty directory`],
  [['--lockfile', path.join(work, 'absent.json'), '-o', path.join(work, 'out')], `--lockfile ${path.join(work, 'absent.json')}: cannot read it (ENOENT)`],
])('compose fetch %j: refused, exit 2, nothing written', async (args, message) => {
  const result = await runSourceCli(['compose', 'fetch', 'treefiles/debian-trixie-minimal.yaml', '--cachedir', path.join(work, 'cache'), ...args])
  expect(result.stderr.trim()).toBe(message)
  expect(result.exitCode).toBe(2)
  expect(result.stderr).not.toMatch(STACK_FRAME)
  expect(readdirSync(full)).toEqual(['something'])
  expect(readdirSync(work).sort()).toEqual(['full', 'lock.json'])
})
