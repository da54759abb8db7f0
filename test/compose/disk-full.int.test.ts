import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, expect, test} from 'vitest'
import {runCli, STACK_FRAME} from '../helpers/cli.js'

// A cache dir on a small tmpfs: the bootstrap runs out of space.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-full-'))
const small = path.join(work, 'small')
const repo = path.join(work, 'repo')

beforeAll(async () => {
  mkdirSync(small)
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=200m', 'tmpfs', small])
})
afterAll(async () => {
  await execa('umount', [small], {reject: false})
  rmSync(work, {recursive: true, force: true})
})

test('a full disk is a clear error, exit 1, no repo or ref left, no work dir left', async () => {
  const result = await runCli(['compose', 'tree', 'treefiles/debian-trixie-minimal.yaml', '--repo', repo, '--cachedir', small], {env: {CI: 'true'}})
  expect(result.exitCode).toBe(1)
  expect(result.stderr).toMatch(/no space left on device/i)
  expect(result.stderr).not.toMatch(STACK_FRAME)
  expect(result.stderr).not.toContain('internal error')
  // No ref written: the repo this compose made is taken back.
  expect(existsSync(repo)).toBe(false)
  expect(readdirSync(path.join(small, 'work'))).toEqual([])
  expect(existsSync(path.join(small, 'apt-ostree.lock'))).toBe(false)
})
