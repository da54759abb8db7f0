import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, expect, test} from 'vitest'
import {repoRoot, runCli} from '../helpers/cli.js'
import {leftAfter, processesMentioning, processTree, waitUntil} from '../helpers/processes.js'

// Its own cache dir (the shared cache's archive linked in, to skip the
// downloads): the leftover checks look at what this test started only.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-interrupt-'))
const cacheDir = path.join(work, 'cache')
const repo = path.join(work, 'repo')
afterAll(() => rmSync(work, {recursive: true, force: true}))

/** Resolves when `text` appears on the child's stderr. */
function waitFor(child: ReturnType<typeof execa>, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString()
      if (seen.includes(text)) resolve()
    })
    child.once('exit', () => reject(new Error(`exited before "${text}":\n${seen}`)))
  })
}

test('a second compose on the same repo and cache fails clearly; SIGINT mid-bootstrap stops every process, cleans up and exits 130', async () => {
  const shared = path.join(repoRoot, '.cache/test/archive')
  if (existsSync(shared)) {
    await execa('mkdir', ['-p', cacheDir])
    await execa('cp', ['-al', shared, path.join(cacheDir, 'archive')])
  }
  const first = execa('node', [path.join(repoRoot, 'bin/run.js'), 'compose', 'tree', 'treefiles/debian-trixie-minimal.yaml', '--repo', repo, '--cachedir', cacheDir, '--force-nocache'], {
    cwd: repoRoot,
    env: {CI: 'true'},
    reject: false,
  })
  await waitFor(first, '[STARTED] bootstrap')

  const second = await runCli(['compose', 'tree', 'treefiles/debian-trixie-minimal.yaml', '--repo', repo, '--cachedir', cacheDir], {env: {CI: 'true'}})
  expect(second.exitCode).toBe(1)
  expect(second.stderr).toContain(`is in use by another compose (pid ${first.pid})`)

  // Interrupt once mmdebstrap runs in the sandbox, whatever the machine's speed.
  const started = await waitUntil('mmdebstrap in the sandbox', async () => {
    const tree = await processTree(first.pid!)
    return tree.some((info) => /(^|\/)mmdebstrap /.test(info.command)) && tree
  })
  first.kill('SIGINT')
  const result = await first
  expect(result.exitCode).toBe(130)
  expect(result.stderr).toContain('interrupted by SIGINT')

  expect(await leftAfter(started)).toEqual([])
  expect(await processesMentioning(work)).toEqual([])
  expect(readdirSync(path.join(cacheDir, 'work'))).toEqual([])
  expect(existsSync(path.join(cacheDir, 'apt-ostree.lock'))).toBe(false)
  expect(existsSync(path.join(repo, 'apt-ostree.lock'))).toBe(false)
  // No ref written: the interrupted compose made the repo, and takes it back.
  expect(existsSync(repo)).toBe(false)
  expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(work)
})
