import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, test} from 'vitest'
import {TreefileError} from '../../src/errors.js'
import {loadTreefile} from '../../src/treefile/index.js'
import {repoRoot, runSourceCli, STACK_FRAME} from '../helpers/cli.js'

// Each directory under test/fixtures/invalid holds a treefile.yaml (with any
// files it includes) and expected.txt: the exact lines `compose validate`
// prints, paths relative to the repository root, the case's directory
// written as $DIR. The loader runs in-process; one case goes through the CLI.
const corpus = path.join(repoRoot, 'test/fixtures/invalid')
const cases = readdirSync(corpus, {withFileTypes: true})
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()

function expectedOf(name: string): string {
  const directory = path.join(corpus, name)
  return readFileSync(path.join(directory, 'expected.txt'), 'utf8').trimEnd().replaceAll('$DIR', path.relative(repoRoot, directory))
}

const treefileOf = (name: string): string => path.relative(repoRoot, path.join(corpus, name, 'treefile.yaml'))

describe('invalid treefile corpus', () => {
  test('has at least 60 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60)
  })

  test.each(cases)('%s', async (name) => {
    // Paths in messages are relative to the working directory, the repo root here.
    expect(process.cwd()).toBe(repoRoot)
    // A fixed architecture: arch-include and packages-$arch must not depend on the host.
    const error = await loadTreefile(treefileOf(name), {arch: 'amd64'}).then(() => undefined, (thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(TreefileError)
    expect((error as TreefileError).message).toBe(expectedOf(name))
  })

  test('the CLI prints the same lines, exit 2, nothing on stdout, no stack trace', async () => {
    const name = 'add-files-destination-dotdot'
    const result = await runSourceCli(['compose', 'validate', treefileOf(name), '--arch', 'amd64'])
    expect(result.stderr.trimEnd()).toBe(expectedOf(name))
    expect(result.exitCode).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).not.toMatch(STACK_FRAME)
  })
})
