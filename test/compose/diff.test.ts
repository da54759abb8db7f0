import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, test} from 'vitest'
import {diffInputs, diffPackageIds, diffTreefiles, formatDiff, parsePackageId, type BuildDiff} from '../../src/compose/diff.js'
import type {InputParts} from '../../src/compose/plan.js'
import {OstreeRepo} from '../../src/tools/ostree.js'
import {runSourceCli, STACK_FRAME} from '../helpers/cli.js'

const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-diff-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))

const parts = (extra: Partial<InputParts> = {}): InputParts => ({
  tool: '0.1.0',
  toolCode: 'c'.repeat(64),
  treefile: 't'.repeat(64),
  files: {'files/greeting': 'a'.repeat(64), 'scripts/post.sh': 'b'.repeat(64)},
  releases: {'http://deb.debian.org/debian/dists/trixie/InRelease': '1'.repeat(64)},
  sourceDateEpoch: 1767225600,
  extraMetadata: {},
  ...extra,
})

describe('compose diff', () => {
  test('package ids: the version keeps its epoch, the architecture is after the last colon', () => {
    expect(parsePackageId('systemd=1:257.9-1~deb13u1:amd64')).toEqual({name: 'systemd', version: '1:257.9-1~deb13u1', architecture: 'amd64'})
  })

  test('packages added, removed and at another version', () => {
    expect(diffPackageIds(['bash=5.2-1:amd64', 'less=1-1:amd64', 'tzdata=2025a-1:all'], ['bash=5.2-2:amd64', 'hello=2.10-3:amd64', 'tzdata=2025a-1:all'])).toEqual({
      added: [{name: 'hello', version: '2.10-3', architecture: 'amd64'}],
      removed: [{name: 'less', version: '1-1', architecture: 'amd64'}],
      changed: [{name: 'bash', architecture: 'amd64', from: '5.2-1', to: '5.2-2'}],
    })
  })

  test('inputs part by part: one file changed, one suite moved, the rest the same', () => {
    const after = parts({files: {...parts().files, 'files/greeting': 'f'.repeat(64)}, releases: {'http://deb.debian.org/debian/dists/trixie/InRelease': '2'.repeat(64)}})
    expect(diffInputs(parts(), after)).toEqual({
      tool: undefined,
      toolCode: false,
      files: {added: [], removed: [], changed: ['files/greeting']},
      suites: {added: [], removed: [], changed: ['http://deb.debian.org/debian/dists/trixie/InRelease']},
      sourceDateEpoch: undefined,
      extraMetadata: {added: [], removed: [], changed: []},
      lock: undefined,
    })
    expect(diffInputs(parts(), parts({lock: 'l'.repeat(64), toolCode: 'd'.repeat(64)}))).toMatchObject({toolCode: true, lock: {from: null, to: 'l'.repeat(64)}})
  })

  test('treefiles key by key, lists by item', () => {
    expect(diffTreefiles({ref: 'a', packages: ['bash', 'less'], recommends: false}, {ref: 'a', packages: ['bash', 'hello'], 'default-target': 'graphical.target'})).toEqual([
      {key: 'default-target', to: 'graphical.target'},
      {key: 'packages', added: ['hello'], removed: ['less']},
      {key: 'recommends', from: false},
    ])
  })

  test('text: one change per line; a treefile string with a terminal escape stays JSON-quoted', () => {
    const diff: BuildDiff = {
      from: {commit: 'a'.repeat(64), version: '13.1'},
      to: {commit: 'b'.repeat(64), version: '13.2'},
      inputs: diffInputs(parts(), parts({files: {...parts().files, 'files/greeting': 'f'.repeat(64)}})),
      treefile: diffTreefiles({packages: []}, {packages: ['hello'], 'automatic-version-prefix': '\u001b[2J13'}),
      packages: diffPackageIds([], ['hello=2.10-3:amd64']),
      layers: {count: {from: 64, to: 64}, changed: [{index: 63, name: 'apt-ostree-unpackaged-content', components: ['apt-ostree-unpackaged-content'], size: 2_500_000}, {index: 64, name: 'hello', components: ['hello'], size: 180_000}]},
    }
    expect(formatDiff(diff).split('\n')).toEqual([
      'aaaaaaaaaaaa (13.1) → bbbbbbbbbbbb (13.2)',
      'file changed: files/greeting',
      'treefile automatic-version-prefix: (unset) → "\\u001b[2J13"',
      'treefile packages: +"hello"',
      'packages: 1 added, 0 removed, 0 changed',
      '  + hello 2.10-3',
      'layers: 2 of 64 changed',
      '  63: apt-ostree-unpackaged-content (2.5 MB)',
      '  64: hello (0.2 MB)',
    ])
  })
})

describe('compose diff refuses, before it opens the cache', () => {
  test.each([
    [['--repo', '/nonexistent/repo', 'a', 'b'], 1, '/nonexistent/repo: not an OSTree repo'],
    [['--repo', '{repo}', 'no/such/ref', '{commit}'], 1, 'no/such/ref: no such ref or commit in {repo}'],
    [['--repo', '{repo}', '{commit}', '{commit}', '--max-layers', '2'], 2, '--max-layers must be an integer of at least 4 (got 2)'],
    [['--repo', '{repo}', '{commit}', '{commit}', '--previous-build-manifest', '/nonexistent/manifest.json'], 2, '/nonexistent/manifest.json: cannot read the previous build manifest (ENOENT)'],
  ])('%j', async (args, exitCode, message) => {
    const repo = new OstreeRepo(path.join(work, 'repo'))
    if (!(await repo.exists())) {
      mkdirSync(path.join(work, 'tree/usr'), {recursive: true})
      writeFileSync(path.join(work, 'tree/usr/file'), 'x')
      mkdirSync(repo.path)
      await repo.init('bare-user')
      await repo.commit({tree: path.join(work, 'tree'), branch: 'test/diff', timestamp: 1767225600})
    }
    const commit = (await repo.resolve('test/diff'))!
    const fill = (text: string): string => text.replaceAll('{repo}', repo.path).replaceAll('{commit}', commit)
    const cache = path.join(work, 'cache')
    const result = await runSourceCli(['compose', 'diff', ...args.map(fill), '--cachedir', cache])
    expect(result.stderr.trim()).toBe(fill(message))
    expect(result.exitCode).toBe(exitCode)
    expect(result.stderr).not.toMatch(STACK_FRAME)
    expect(existsSync(cache)).toBe(false)
  })
})
