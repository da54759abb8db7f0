import {describe, expect, it} from 'vitest'
import {runSourceCli} from '../helpers/cli.js'

// A command line oclif cannot parse is bad input like a bad treefile: one
// line that says what is wrong, exit 2, nothing written.
describe('a command line that does not parse', () => {
  it.each([
    [['compose', 'tree'], 'apt-ostree compose tree: missing argument TREEFILE (see apt-ostree compose tree --help)'],
    [['vm', 'upgrade', 'debian/13/amd64/minimal', '--repo', 'repo'], 'apt-ostree vm upgrade: missing required flag --from (see apt-ostree vm upgrade --help)'],
    [['compose', 'tree', '--no-such-flag', 'treefile.yaml'], 'apt-ostree compose tree: nonexistent flag: --no-such-flag (see apt-ostree compose tree --help)'],
    [['compose', 'tree', 'treefile.yaml', '--compression', 'lz4'], 'apt-ostree compose tree: expected --compression=lz4 to be one of: gzip, zstd, none (see apt-ostree compose tree --help)'],
    [['compose', 'tree', 'a.yaml', 'b.yaml'], 'apt-ostree compose tree: unexpected argument: b.yaml (see apt-ostree compose tree --help)'],
    [['vm', 'upgrade', 'ref', '--repo', 'repo', '--from', 'v1', '--cycles', 'two'], 'apt-ostree vm upgrade: --cycles: expected an integer but received: two (see apt-ostree vm upgrade --help)'],
  ])('%j: one line, exit 2', async (args, line) => {
    const result = await runSourceCli(args)
    expect(result.exitCode).toBe(2)
    expect(result.stderr.trim().split('\n')).toEqual([line])
    expect(result.stdout).toBe('')
  })

  it('with --json: the same message as the error object, exit 2', async () => {
    const result = await runSourceCli(['compose', 'tree', '--json'])
    expect(result.exitCode).toBe(2)
    expect(JSON.parse(result.stdout)).toEqual({error: {message: 'apt-ostree compose tree: missing argument TREEFILE (see apt-ostree compose tree --help)', exitCode: 2}})
  })
})
