import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, describe, expect, it} from 'vitest'
import {repoRoot} from '../helpers/cli.js'

// scripts/run-workflow.mjs on small workflows: what a runner must get right
// (if:, outputs, GITHUB_ENV, matrix, secrets) and what it refuses.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-run-workflow-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))

async function runWorkflow(workflow: string, args: string[] = [], env: Record<string, string> = {}): Promise<{exitCode: number; stdout: string; stderr: string}> {
  const file = path.join(work, `workflow-${Math.random().toString(36).slice(2)}.yml`)
  writeFileSync(file, workflow)
  const result = await execa('node', [path.join(repoRoot, 'scripts/run-workflow.mjs'), file, ...args], {cwd: repoRoot, reject: false, env})
  return {exitCode: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr}
}

const PIPELINE = `
on: push
env:
  GREETING: \${{ vars.GREETING || 'hello' }}
defaults:
  run:
    shell: bash
jobs:
  build:
    runs-on: debian-12
    strategy:
      matrix:
        flavour: [plain, fancy]
    steps:
      - id: first
        env:
          TOKEN: \${{ secrets.TOKEN }}
        run: |
          echo "$GREETING \${{ matrix.flavour }} token=$TOKEN event=\${{ github.event_name }}"
          echo "answer=42" >> "$GITHUB_OUTPUT"
          echo "FROM_ENV_FILE=yes" >> "$GITHUB_ENV"
      - name: Uses the output
        if: steps.first.outputs.answer == '42'
        run: echo "answer \${{ steps.first.outputs.answer }} env $FROM_ENV_FILE"
      - name: Never
        if: github.event_name == 'pull_request'
        run: echo never
      - name: Fails
        run: exit 3
      - name: After a failure
        run: echo skipped
      - name: On failure
        if: failure()
        run: echo cleaning up
`

describe('scripts/run-workflow.mjs', () => {
  it('runs the steps with expressions, outputs, GITHUB_ENV and masked secrets; a failure skips what follows except failure()', async () => {
    const result = await runWorkflow(PIPELINE, ['--matrix', 'flavour=fancy', '--event', 'schedule', '--secret', 'TOKEN', '--var', 'GREETING=hi'], {TOKEN: 's3cret-value'})
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toContain('hi fancy token=*** event=schedule')
    expect(result.stdout).not.toContain('s3cret-value')
    expect(result.stdout).toContain('answer 42 env yes')
    expect(result.stdout).toContain('cleaning up')
    expect(result.stdout).not.toContain('plain')
    const table = result.stdout.slice(result.stdout.lastIndexOf('=== '))
    expect([...table.matchAll(/^ {4}(\w+)\s+[\d.]+ s {2}(.+)$/gm)].map((match) => `${match[1]} ${match[2]}`)).toEqual([
      'success Run echo "$GREETING ${{ matrix.flavour }} token=$TOKEN event=${{ github.event_name }}"',
      'success Uses the output',
      'skipped Never',
      'failure Fails',
      'skipped After a failure',
      'success On failure',
    ])
  })

  it('runs every matrix entry when none is chosen', async () => {
    const result = await runWorkflow(PIPELINE, ['--secret', 'TOKEN=x'])
    expect(result.stdout).toContain('hello plain')
    expect(result.stdout).toContain('hello fancy')
  })

  it.each([
    [['--matrix', 'flavour=huge', '--secret', 'TOKEN=x'], "run-workflow: --matrix flavour=huge: not in the workflow's list (plain, fancy)"],
    [['--matrix', 'colour=red'], 'run-workflow: --matrix colour=red: the matrix has no key colour (it has flavour)'],
    [['--secret', 'MISSING_SECRET'], 'run-workflow: --secret MISSING_SECRET: no value given and no MISSING_SECRET in the environment'],
    [['--var', 'NOVALUE'], 'run-workflow: --var NOVALUE: expected NAME=VALUE'],
  ])('refuses %j with one line and exit 2', async (args, message) => {
    const result = await runWorkflow(PIPELINE, args)
    expect(result.stderr.trim()).toBe(message)
    expect(result.exitCode).toBe(2)
  })

  it('actions/checkout copies this checkout into the workspace; without clean: false it empties it first', async () => {
    const workspace = mkdtempSync(path.join(work, 'workspace-'))
    writeFileSync(path.join(workspace, '.stale'), '')
    const steps = '      - run: test -f package.json && test -x scripts/install-deps.sh && test ! -e .stale\n'
    const kept = await runWorkflow(`on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          clean: false\n${steps.replace('! -e', '-e')}`, ['--workspace', workspace])
    expect(kept.exitCode, kept.stdout).toBe(0)
    const cleaned = await runWorkflow(`on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n${steps}`, ['--workspace', workspace])
    expect(cleaned.exitCode, cleaned.stdout).toBe(0)
  })

  it('refuses an action it cannot run instead of skipping it', async () => {
    const result = await runWorkflow('on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/setup-node@v4\n')
    expect(result.stderr.trim()).toBe('run-workflow: uses: actions/setup-node@v4: this runner only knows actions/checkout')
    expect(result.exitCode).toBe(2)
  })
})
