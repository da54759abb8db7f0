import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, expect, test} from 'vitest'
import YAML from 'yaml'
import {LINT_RULES} from '../../src/lint/rules/index.js'
import {runSourceCli, STACK_FRAME} from '../helpers/cli.js'
import {directory, passingFixture, put} from './fixture.js'
import {gzip, tarOf, writeLayout} from './oci-fixture.js'

// Runs the built CLI: `npm run build` first.
let root: string
beforeEach(() => {
  root = passingFixture()
})
afterEach(() => rmSync(root, {recursive: true, force: true}))

const lint = (...args: string[]) => runSourceCli(['container', 'lint', ...args])
const makeVarRunADirectory = (): void => {
  rmSync(path.join(root, 'var/run'))
  directory(root, 'var/run')
}

test('a passing rootfs exits 0 with the counts', async () => {
  const result = await lint(root)
  expect(result).toMatchObject({exitCode: 0, stdout: `Checks passed: ${LINT_RULES.length}`})
})

test('a fatal finding exits 1 with the finding on stdout; --skip lets it pass', async () => {
  makeVarRunADirectory()
  const failed = await lint(root)
  expect(failed.exitCode).toBe(1)
  expect(failed.stdout).toBe(`Failed lint: var-run: Not a symlink: var/run\nChecks passed: ${LINT_RULES.length - 1}`)
  expect(failed.stderr).toBe('Checks failed: 1')
  const skipped = await lint(root, '--skip', 'var-run')
  expect(skipped).toMatchObject({exitCode: 0, stdout: `Checks passed: ${LINT_RULES.length - 1}\nChecks skipped: 1`})
})

test('a warning exits 0, and 1 with --fatal-warnings', async () => {
  put(root, 'etc/hostname')
  const warned = await lint(root)
  expect(warned.exitCode).toBe(0)
  expect(warned.stdout).toContain('Lint warning: buildah-injected: Found empty files; these may have been synthesized by a container runtime:\n  /etc/hostname\n')
  expect(warned.stdout).toContain('Warnings: 1')
  expect(await lint(root, '--fatal-warnings')).toMatchObject({exitCode: 1, stderr: 'Checks failed: 1'})
})

test('--no-truncate prints every item', async () => {
  for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) put(root, `tmp/${name}`)
  expect((await lint(root)).stdout).toContain('  /tmp/e\n  ...and 2 more\n')
  expect((await lint(root, '--no-truncate')).stdout).toContain('  /tmp/e\n  /tmp/f\n  /tmp/g\n')
})

test('--json prints the result, and still exits 1 on a fatal finding', async () => {
  makeVarRunADirectory()
  const result = await lint(root, '--json')
  expect(result.exitCode).toBe(1)
  expect(JSON.parse(result.stdout)).toEqual({
    target: root,
    rootKind: 'rootfs',
    findings: [{rule: 'var-run', type: 'fatal', message: 'Not a symlink: var/run', items: []}],
    passed: LINT_RULES.length - 1,
    skipped: 0,
    warnings: 0,
    fatal: 1,
    failed: 1,
  })
})

test('--list prints the rules as YAML, or as a JSON array', async () => {
  const yaml = await lint('--list')
  expect(yaml.exitCode).toBe(0)
  const names = LINT_RULES.map((rule) => rule.name)
  expect((YAML.parse(yaml.stdout) as Array<{name: string}>).map((rule) => rule.name)).toEqual(names)
  const json = await lint('--list', '--json')
  expect((JSON.parse(json.stdout) as Array<{name: string; type: string}>).map((rule) => [rule.name, rule.type])).toEqual(LINT_RULES.map((rule) => [rule.name, rule.type]))
})

test('an unknown --skip name, a missing target or none: exit 2, one line, no stack trace', async () => {
  const unknown = await lint(root, '--skip', 'sysuser')
  expect(unknown).toMatchObject({exitCode: 2, stderr: 'unknown lint rule "sysuser" (did you mean "sysusers"?); --list shows the rules'})
  const missing = await lint(path.join(root, 'nowhere'))
  expect(missing.exitCode).toBe(2)
  expect(missing.stderr).toMatch(/^\S+\/nowhere: no such directory \(an image is given as oci:DIR\[:TAG\], .*\)$/)
  const none = await lint()
  expect(none.exitCode).toBe(2)
  for (const result of [unknown, missing, none]) expect(result.stderr).not.toMatch(STACK_FRAME)
})

test('an image reference lints the image', async () => {
  const layout = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-lint-layout-'))
  try {
    writeLayout(layout, [gzip(await tarOf([{name: 'var/run', type: 'directory'}]))], 'latest')
    const result = await lint(`oci:${layout}`, '--json')
    expect(result.exitCode).toBe(1)
    const report = JSON.parse(result.stdout) as {rootKind: string; findings: Array<{rule: string}>}
    expect(report.rootKind).toBe('image')
    expect(report.findings.map((finding) => finding.rule)).toEqual(expect.arrayContaining(['api-base-directories', 'baseimage-root', 'var-run']))
  } finally {
    rmSync(layout, {recursive: true, force: true})
  }
})

// An image chooses its file names: one may hold an OSC 52 clipboard write,
// an OSC 0 window title, or a carriage return or newline and a line of its
// own. The report shows them written out; --json keeps them as they are.
test('file names that would act on a terminal are shown escaped; --json keeps them raw', async () => {
  const names = ['\u001b]52;c;ZWNobyBwd25lZA==\u0007clip', '\u001b]0;all good\u0007title', 'run\rChecks passed: 99', 'next\nChecks passed: 98']
  for (const name of names) put(root, `tmp/${name}`)
  const human = await lint(root, '--no-truncate')
  expect(human.exitCode).toBe(0)
  expect(human.stdout).toContain('\\x1b]52;c;ZWNobyBwd25lZA==\\x07clip')
  expect(human.stdout).toContain('\\x1b]0;all good\\x07title')
  expect(human.stdout).toContain('run\\x0dChecks passed: 99')
  expect(human.stdout).toContain('next\\nChecks passed: 98')
  // eslint-disable-next-line no-control-regex
  expect(human.stdout).not.toMatch(/[\u001b\u0007\r]/)
  expect(human.stdout.split('\n').filter((line) => line.startsWith('Checks passed'))).toEqual([`Checks passed: ${LINT_RULES.length - 1}`])
  const json = await lint(root, '--json')
  const report = JSON.parse(json.stdout) as {findings: Array<{items: string[]}>}
  expect(report.findings.flatMap((finding) => finding.items)).toEqual(expect.arrayContaining(names.map((name) => `/tmp/${name}`)))
})
