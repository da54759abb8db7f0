import {rmSync} from 'node:fs'
import path from 'node:path'
import {afterEach, beforeEach, expect, test} from 'vitest'
import YAML from 'yaml'
import {AptOstreeError, UsageError} from '../../src/errors.js'
import {treeFromDirectory} from '../../src/lint/load.js'
import {LINT_RULES} from '../../src/lint/rules/index.js'
import {formatLintReport, formatRuleList, runLint, type LintResult} from '../../src/lint/run.js'
import type {FileTree, FileTreeEntry} from '../../src/file-tree.js'
import {directory, passingFixture, put} from './fixture.js'

let root: string
beforeEach(() => {
  root = passingFixture()
})
afterEach(() => rmSync(root, {recursive: true, force: true}))

test('a skipped rule does not run and counts as skipped', async () => {
  rmSync(path.join(root, 'var/run'))
  directory(root, 'var/run')
  const tree = await treeFromDirectory(root)
  expect(await runLint(tree, {rootKind: 'rootfs'})).toMatchObject({fatal: 1, failed: 1, skipped: 0})
  expect(await runLint(tree, {rootKind: 'rootfs', skip: ['var-run']})).toEqual({findings: [], passed: LINT_RULES.length - 1, skipped: 1, warnings: 0, fatal: 0, failed: 0})
})

test('warnings fail the lint only with fatalWarnings', async () => {
  put(root, 'var/log/dpkg.log', 'installed')
  const tree = await treeFromDirectory(root)
  expect(await runLint(tree, {rootKind: 'rootfs', skip: ['var-tmpfiles']})).toMatchObject({warnings: 1, fatal: 0, failed: 0})
  expect(await runLint(tree, {rootKind: 'rootfs', skip: ['var-tmpfiles'], fatalWarnings: true})).toMatchObject({warnings: 1, fatal: 0, failed: 1})
})

test('an unknown rule name is a usage error that suggests the closest', async () => {
  const running = runLint(await treeFromDirectory(root), {rootKind: 'rootfs', skip: ['var-lgo']})
  await expect(running).rejects.toBeInstanceOf(UsageError)
  await expect(running).rejects.toThrow('unknown lint rule "var-lgo" (did you mean "var-log"?); --list shows the rules')
})

test('buildah-injected does not run on the running root, where a runtime injects those files', async () => {
  put(root, 'etc/hostname')
  const tree = await treeFromDirectory(root)
  expect((await runLint(tree, {rootKind: 'image'})).findings.map((finding) => finding.rule)).toEqual(['buildah-injected'])
  expect(await runLint(tree, {rootKind: 'running'})).toMatchObject({findings: [], skipped: 1})
})

test('the rules read any FileTree, such as the in-memory one the image writer hands over', async () => {
  const directoryEntry = {type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0} as const
  const text = (content: string) => ({type: 'file', mode: 0o644, uid: 0, gid: 0, size: content.length, read: async () => Buffer.from(content)}) as const
  const tree: FileTree = new Map<string, FileTreeEntry>([
    ['/', directoryEntry],
    ['/etc', directoryEntry],
    ['/etc/passwd', text('root:x:0:0::/root:/bin/sh\nmessagebus:x:100:101::/nonexistent:/usr/sbin/nologin\n')],
    ['/etc/group', text('root:x:0:\nmessagebus:x:101:\n')],
  ])
  const result = await runLint(tree, {rootKind: 'image'})
  expect(result.findings.find((finding) => finding.rule === 'sysusers')?.items).toEqual(['messagebus', 'root'])
  // A file whose content the tree cannot give is the tree's problem, named per rule.
  tree.set('/etc/passwd', {type: 'file', mode: 0o644, uid: 0, gid: 0, size: 10})
  const failing = runLint(tree, {rootKind: 'image'})
  await expect(failing).rejects.toBeInstanceOf(AptOstreeError)
  await expect(failing).rejects.toThrow("Unexpected runtime error running lint sysusers: /etc/passwd: the file's content is not available to the lint rules")
})

const report: LintResult = {
  findings: [
    {rule: 'var-run', type: 'fatal', message: 'Not a symlink: var/run', items: []},
    {rule: 'var-tmpfiles', type: 'warning', message: 'Found content in /var missing systemd tmpfiles.d entries', items: ['d /var/a', 'd /var/b', 'd /var/c', 'd /var/d', 'd /var/e', 'd /var/f', 'd /var/g']},
    {rule: 'var-tmpfiles', type: 'warning', message: 'Found non-directory/non-symlink files in /var', items: ['/var/lib/x']},
  ],
  passed: 13,
  skipped: 1,
  warnings: 1,
  fatal: 1,
  failed: 1,
}

test('the report reads as bootc\'s: a paragraph per rule, 5 items, then the counts', () => {
  expect(formatLintReport(report)).toBe(
    [
      'Failed lint: var-run: Not a symlink: var/run',
      'Lint warning: var-tmpfiles: Found content in /var missing systemd tmpfiles.d entries:',
      ...['a', 'b', 'c', 'd', 'e'].map((name) => `  d /var/${name}`),
      '  ...and 2 more',
      'Found non-directory/non-symlink files in /var:',
      '  /var/lib/x',
      'Checks passed: 13',
      'Checks skipped: 1',
      'Warnings: 1',
    ].join('\n'),
  )
  expect(formatLintReport(report, {truncate: false})).toContain('  d /var/f\n  d /var/g\nFound non-directory')
  expect(formatLintReport({findings: [], passed: 16, skipped: 0, warnings: 0, fatal: 0, failed: 0})).toBe('Checks passed: 16')
})

test('the rule list is YAML of every rule in order, with the root kinds a rule is limited to', () => {
  const list = YAML.parse(formatRuleList()) as Array<{name: string; type: string; description: string; roots?: string[]}>
  expect(list.map((rule) => rule.name)).toEqual(LINT_RULES.map((rule) => rule.name))
  expect(list.find((rule) => rule.name === 'var-run')).toEqual({name: 'var-run', type: 'fatal', description: 'Check for /var/run being a physical directory; this is always a bug.'})
  expect(list.find((rule) => rule.name === 'buildah-injected')?.roots).toEqual(['rootfs', 'image'])
  expect(list.find((rule) => rule.name === 'baseimage-composefs')?.description).toContain('libcomposefs')
})
