import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {runSourceCli, SOURCE_CLI} from '../helpers/cli.js'
import {commandFacts} from '../helpers/commands.js'

// Every command reads like its peers (podman, skopeo, rpm-ostree): --help
// with examples, --json for scripts, --quiet for CI logs.
const facts = await commandFacts()
const commands = Object.keys(facts).sort()

describe('every command', () => {
  it.each(commands)('%s: --help shows examples; --json and --quiet exist', async (id) => {
    expect(facts[id].examples.length).toBeGreaterThan(0)
    expect(Object.keys(facts[id].flags)).toEqual(expect.arrayContaining(['json', 'quiet']))
    const help = await runSourceCli([...id.split(':'), '--help'])
    expect(help.exitCode).toBe(0)
    expect(help.stdout).toMatch(/^EXAMPLES$/m)
  })

  it.each([
    ['a pipe', false, {}, false],
    ['a terminal', true, {}, true],
    ['a terminal with NO_COLOR', true, {NO_COLOR: '1'}, false],
    ['a pipe with FORCE_COLOR (asked for)', false, {FORCE_COLOR: '1'}, true],
  ] as const)('colours on %s', async (_, terminal, extra, coloured) => {
    const command = ['node', SOURCE_CLI, 'compose', 'tree', '--help']
    // script(1) gives the CLI a pseudo-terminal, as an interactive shell does.
    const [file, args] = terminal ? ['script', ['-qc', command.join(' '), '/dev/null']] : [command[0], command.slice(1)]
    // An interactive shell: a colour-capable TERM and no CI variable (chalk
    // turns colours off under CI=true, as .ci/run sets it).
    const env: Record<string, string | undefined> = {
      CI: undefined, FORCE_COLOR: undefined, NO_COLOR: undefined, TERM: 'xterm-256color', ...extra,
    }
    const result = await execa(file, args, {env, reject: false})
    expect(result.exitCode).toBe(0)
    expect(result.stdout.includes('\u001b[')).toBe(coloured)
  })

  it('shell completion comes from oclif\'s autocomplete plugin', async () => {
    const script = await runSourceCli(['autocomplete', 'script', 'bash'])
    expect(script.exitCode).toBe(0)
    expect(script.stdout).toContain('apt-ostree')
  })
})
