import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {hostArchitecture} from '../../src/arch.js'
import {repoRoot, runCli, STACK_FRAME} from '../helpers/cli.js'
import {writeLocalArchive} from '../helpers/local-archive.js'

// --arch's bad input, each refused on one line with exit 2: the name and the
// emulator before any work (the cache dir and the repo are never made), the
// repo's architectures once its InRelease is read, before the bootstrap. The
// treefile's one repo is a local archive: nothing here reaches the network.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-arch-'))
const cacheDir = path.join(work, 'cache')
const repo = path.join(work, 'repo')
const treefile = path.join(work, 'treefile.yaml')
// An architecture this host does not run and install-deps.sh registers no emulator for.
const unregistered = 'riscv64'
afterAll(() => rmSync(work, {recursive: true, force: true}))

beforeAll(async () => {
  // The archive has packages for an architecture other than the host's only.
  const other = hostArchitecture().debian === 's390x' ? 'ppc64el' : 's390x'
  await writeLocalArchive(path.join(work, 'archive'), 'trixie', other, [{name: 'apt-ostree-test', version: '1.0', description: 'a package', scripts: {}}])
  writeFileSync(treefile, [
    'ref: test/${basearch}/arch',
    'container: true',
    'repos:',
    '  - name: local',
    `    uris: ["file://${path.join(work, 'archive')}"]`,
    '    suites: [trixie]',
    '    trusted: true',
    'packages: [apt-ostree-test]',
    '',
  ].join('\n'))
})

/** The one line of a compose refused with exit 2, which wrote no ref (and, BEFORE_ANY_WORK, made no cache dir or repo). */
async function refused(args: string[], beforeAnyWork = true): Promise<string> {
  const result = await runCli(['compose', 'tree', treefile, '--repo', repo, '--cachedir', cacheDir, '--quiet', ...args], {env: {CI: 'true'}})
  expect(result.stderr).not.toMatch(STACK_FRAME)
  expect(result.exitCode, result.stderr).toBe(2)
  expect(existsSync(path.join(repo, 'refs/heads/test'))).toBe(false)
  if (beforeAnyWork) expect([existsSync(cacheDir), existsSync(repo)]).toEqual([false, false])
  const lines = result.stderr.trim().split('\n')
  expect(lines).toHaveLength(1)
  return lines[0]
}

describe('compose tree --arch', () => {
  test('an unknown architecture, with the Debian name of a known alias', async () => {
    expect(await refused(['--arch', 'aarch64'])).toMatch(/unknown architecture "aarch64" \(did you mean "arm64"\? Debian calls it so\); known: amd64, arm64, /)
  })

  test('an architecture whose qemu-user emulator the kernel does not know', async () => {
    expect(await refused(['--arch', unregistered])).toMatch(new RegExp(`a ${unregistered} tree runs through qemu-user on this host.*\\(.+\\)$`))
  })

  test("an architecture the treefile's repo has no packages for, at the repo's line", async () => {
    const native = hostArchitecture().debian
    expect(await refused(['--arch', native], false)).toBe(`${path.relative(repoRoot, treefile)}:4:5: repo "local": file://${path.join(work, 'archive')}/dists/trixie/InRelease has no packages for ${native} (its Architectures: ${hostArchitecture().debian === 's390x' ? 'ppc64el' : 's390x'})`)
  })
})
