import {execa} from 'execa'
import {existsSync, readFileSync} from 'node:fs'
import {chmod, chown, mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, test} from 'vitest'
import {freeRangeStart, identityOf, mapLines, subordinateRange, TREE_IDS} from '../../src/sandbox/idmap.js'
import {repoRoot} from '../helpers/cli.js'

describe('subordinate ids', () => {
  const subuid = 'root:1879048192:65536\nalice:100000:1000\nalice:200000:65536\n1002:300000:65536\n# comment\nbroken:line\n'

  test('the first range of the user (by name or uid) that is large enough', () => {
    expect(subordinateRange(subuid, 'alice', 1001, TREE_IDS - 1)).toMatchObject({start: 200000, count: 65536})
    expect(subordinateRange(subuid, 'bob', 1002, TREE_IDS - 1)).toMatchObject({start: 300000})
    expect(subordinateRange(subuid, 'carol', 1003, TREE_IDS - 1)).toBeUndefined()
  })

  test('a new range goes past every range already given', () => {
    expect(freeRangeStart(['', ''])).toBe(100000)
    expect(freeRangeStart(['alice:100000:65536\n', 'alice:100000:65536\nbob:165536:65536\n'])).toBe(231072)
  })

  test('maps as /proc/PID/uid_map takes them; the child namespace sees the same ids', () => {
    const extents = [{inner: 0, outer: 1001, count: 1}, {inner: 1, outer: 100000, count: 65535}]
    expect(mapLines(extents)).toBe('0 1001 1\n1 100000 65535\n')
    expect(mapLines(identityOf(extents))).toBe('0 0 1\n1 1 65535\n')
  })
})

/**
 * What nobody runs the CLI from: the checkout may be where nobody cannot
 * read it (a clone under root's 0700 home), so its sources, treefiles and
 * node_modules are linked (hard links: cheap, and the files' own modes)
 * into a directory nobody can enter. Made once, for both cases.
 */
let readableCopy: Promise<string> | undefined
function checkoutForNobody(): Promise<string> {
  readableCopy ??= (async () => {
    const copy = await mkdtemp(path.join(tmpdir(), 'apt-ostree-nobody-checkout-'))
    await chmod(copy, 0o755)
    for (const entry of ['bin', 'src', 'schemas', 'treefiles', 'node_modules', 'package.json', 'tsconfig.json']) {
      const linked = await execa('cp', ['-al', path.join(repoRoot, entry), copy], {reject: false})
      if (linked.exitCode !== 0) await execa('cp', ['-a', path.join(repoRoot, entry), copy])
    }
    return copy
  })()
  return readableCopy
}
afterAll(async () => {
  if (readableCopy) await rm(await readableCopy, {recursive: true, force: true})
})

// An ordinary user without subordinate ids learns, before anything is
// created, which line to give root; nobody has none on any machine.
test.runIf(process.getuid?.() === 0).each([
  [['compose', 'tree', 'treefiles/debian-trixie-minimal.yaml', '--repo', 'repo']],
  [['vm', 'boot', '--repo', 'repo', 'debian/13/amd64/minimal']],
])('%j as nobody: the usermod line to run, exit 2, nothing made', async (args) => {
  const checkout = await checkoutForNobody()
  const directory = await mkdtemp(path.join(tmpdir(), 'apt-ostree-nobody-'))
  await chown(directory, 65534, 65534)
  const cli = ['node', path.join(checkout, 'bin/dev.js'), ...args.map((arg) => (arg === 'repo' ? path.join(directory, 'repo') : arg)), '--cachedir', path.join(directory, 'cache')]
  const result = await execa('runuser', ['-u', 'nobody', '--', ...cli], {cwd: checkout, reject: false, env: {HOME: '/nonexistent'}})
  const made = await readdir(directory)
  await rm(directory, {recursive: true, force: true})
  expect(made).toEqual([])
  expect(existsSync(directory)).toBe(false)
  const start = freeRangeStart(['/etc/subuid', '/etc/subgid'].map((file) => readFileSync(file, 'utf8')))
  const range = `${start}-${start + TREE_IDS - 1}`
  expect(result.stderr.trim()).toBe(`composing as nobody needs 65535 subordinate ids in /etc/subuid and /etc/subgid, for the tree's users; add them as root: usermod --add-subuids ${range} --add-subgids ${range} nobody`)
  expect(result.exitCode).toBe(2)
  expect(result.stdout).toBe('')
})
