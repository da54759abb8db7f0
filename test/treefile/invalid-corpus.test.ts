import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, test} from 'vitest'
import {repoRoot, runCli, STACK_FRAME} from '../helpers/cli.js'

// Each directory under test/fixtures/invalid holds a treefile.yaml (with any
// files it includes) and expected.txt: the exact stderr lines of
// `compose validate`, paths relative to the repository root, the case's
// directory written as $DIR.
const corpus = path.join(repoRoot, 'test/fixtures/invalid')
const cases = readdirSync(corpus, {withFileTypes: true})
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()

describe('invalid treefile corpus', () => {
  test('has at least 60 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60)
  })

  test.concurrent.each(cases)('%s', async (name) => {
    const directory = path.join(corpus, name)
    const treefile = path.relative(repoRoot, path.join(directory, 'treefile.yaml'))
    const expected = readFileSync(path.join(directory, 'expected.txt'), 'utf8').trimEnd().replaceAll('$DIR', path.relative(repoRoot, directory))
    // A fixed architecture: arch-include and packages-$arch must not depend on the host.
    const result = await runCli(['compose', 'validate', treefile, '--arch', 'amd64'])
    expect(result.stderr.trimEnd()).toBe(expected)
    expect(result.exitCode).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).not.toMatch(STACK_FRAME)
  })
})
