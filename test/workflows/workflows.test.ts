import {accessSync, constants, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow} from '@actions/workflow-parser'
import {describe, expect, test} from 'vitest'
import {parse} from 'yaml'
import {repoRoot} from '../helpers/cli.js'
import {commandFacts} from '../helpers/commands.js'

// An actionlint-style check of .gitea/workflows: GitHub's own workflow parser
// (schema and expressions, which Gitea Actions follows), then what only this
// project knows: the matrix covers treefiles/, every apt-ostree call names a
// command and flags that exist, scripts exist, secrets stay out of scripts.
const workflowDir = path.join(repoRoot, '.gitea/workflows')
const workflowFiles = readdirSync(workflowDir).filter((name) => /\.ya?ml$/.test(name)).sort()

interface Step {
  name?: string
  uses?: string
  run?: string
  env?: Record<string, string>
}

interface Workflow {
  jobs: Record<string, {steps: Step[]; env?: Record<string, string>; strategy?: {matrix?: Record<string, unknown[]>}}>
}

function load(file: string): {text: string; workflow: Workflow} {
  const text = readFileSync(path.join(workflowDir, file), 'utf8')
  return {text, workflow: parse(text) as Workflow}
}

function runSteps(workflow: Workflow): Step[] {
  return Object.values(workflow.jobs).flatMap((job) => job.steps.filter((step) => step.run !== undefined))
}

const manifest = {commands: await commandFacts()}

/** Each `./bin/run.js ...` command line of a script (continuation lines joined), as words. */
function cliInvocations(script: string): string[][] {
  const joined = script.replace(/\\\n\s*/g, ' ')
  return [...joined.matchAll(/\.\/bin\/run\.js([^\n|;&>]*)/g)].map((match) => [...match[1].matchAll(/"[^"]*"|'[^']*'|\S+/g)].map((word) => word[0]))
}

/** Problems of one command line: unknown command, unknown flag. */
function invocationProblems(words: string[]): string[] {
  let id: string | undefined
  let consumed = 0
  for (let length = Math.min(words.length, 3); length > 0; length--) {
    const candidate = words.slice(0, length).join(':')
    if (manifest.commands[candidate]) {
      id = candidate
      consumed = length
      break
    }
  }
  if (!id) return [`no apt-ostree command in: ${words.join(' ')}`]
  const flags = manifest.commands[id].flags
  const problems: string[] = []
  for (const word of words.slice(consumed)) {
    const long = /^--(no-)?([a-z][a-z0-9-]*)(=.*)?$/.exec(word)
    const short = /^-([a-zA-Z])$/.exec(word)
    if (long) {
      const flag = flags[long[2]]
      if (!flag || (long[1] && !flag.allowNo)) problems.push(`${id.replace(':', ' ')}: unknown flag ${word.split('=')[0]}`)
    } else if (short && !Object.values(flags).some((flag) => flag.char === short[1])) {
      problems.push(`${id.replace(':', ' ')}: unknown flag ${word}`)
    }
  }
  return problems
}

describe('.gitea/workflows', () => {
  test('there are the project CI and the example image pipeline', () => {
    expect(workflowFiles).toEqual(['build-image.yml', 'ci.yml'])
  })

  test.each(workflowFiles)('%s: valid for GitHub\'s workflow parser (schema, expressions)', async (file) => {
    const {text} = load(file)
    const parsed = parseWorkflow({name: file, content: text}, new NoOperationTraceWriter())
    expect(parsed.context.errors.getErrors().map((error) => error.message)).toEqual([])
    const template = await convertWorkflowTemplate(parsed.context, parsed.value!)
    expect(template.errors ?? []).toEqual([])
  })

  test.each(workflowFiles)('%s: every apt-ostree call names a command and flags that exist', (file) => {
    const problems = runSteps(load(file).workflow).flatMap((step) => cliInvocations(step.run!).flatMap(invocationProblems))
    expect(problems).toEqual([])
  })

  test.each(workflowFiles)('%s: scripts it runs exist and are executable', (file) => {
    const scripts = runSteps(load(file).workflow).flatMap((step) => [...step.run!.matchAll(/(?:^|\s)((?:scripts|\.ci)\/[\w./-]+)/g)].map((match) => match[1]))
    for (const script of new Set(scripts)) expect(() => accessSync(path.join(repoRoot, script), constants.X_OK), script).not.toThrow()
  })

  test.each(workflowFiles)('%s: secrets reach scripts only through env (never inline, where they would show in the process list)', (file) => {
    const inline = runSteps(load(file).workflow).filter((step) => /\$\{\{[^}]*secrets\./.test(step.run!)).map((step) => step.name)
    expect(inline).toEqual([])
  })

  test('ci.yml runs .ci/run, which runs the README\'s test command', () => {
    expect(runSteps(load('ci.yml').workflow).map((step) => step.run)).toContainEqual(expect.stringContaining('.ci/run'))
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
    const testCommand = /Run the tests[\s\S]*?```sh\n(.+)\n```/.exec(readme)![1]
    expect(readFileSync(path.join(repoRoot, '.ci/run'), 'utf8')).toContain(testCommand)
  })

  test('build-image.yml\'s matrices are every treefile of treefiles/; the index holds every architecture the image job builds', () => {
    const treefiles = readdirSync(path.join(repoRoot, 'treefiles')).filter((name) => name.endsWith('.yaml')).map((name) => name.replace(/\.yaml$/, '')).sort()
    const {workflow} = load('build-image.yml')
    expect(Object.values(workflow.jobs).map((job) => job.strategy?.matrix?.treefile)).toEqual([treefiles, treefiles])
    expect(workflow.jobs.image.strategy?.matrix?.arch).toEqual(['amd64', 'arm64'])
    expect(workflow.jobs.publish.env?.ARCHITECTURES.split(' ')).toEqual(workflow.jobs.image.strategy?.matrix?.arch)
  })

  test('build-image.yml: a pull request builds in a state dir of its own, records nothing, and publishes nothing', () => {
    const {workflow} = load('build-image.yml')
    const image = workflow.jobs.image.steps as Array<Step & {if?: string}>
    const setup = image.find((step) => step.name === 'Set up apt-ostree')!.run!
    expect(setup).toMatch(/if \[ "\$GITHUB_EVENT_NAME" = pull_request \]; then\n\s+build_dir=\$RUNNER_TEMP\//)
    // Every other step of the image job names the state through BUILD_DIR, never STATE_DIR itself.
    const named = image.filter((step) => step !== image.find((each) => each.name === 'Set up apt-ostree') && /STATE_DIR/.test(step.run ?? ''))
    expect(named.map((step) => step.name)).toEqual([])
    expect(image.find((step) => step.name === 'Record the verified commit')!.if).toContain("github.event_name != 'pull_request'")
    expect(image.at(-1)).toMatchObject({name: "Remove the pull request's state", if: "always() && github.event_name == 'pull_request'"})
    expect((workflow.jobs.publish as {if?: string}).if).toContain("github.event_name != 'pull_request'")
  })

  test('the parser reports an unknown key and a broken expression', () => {
    const content = 'on: push\njobs:\n  j:\n    runs-on: x\n    timeout: 5\n    steps:\n      - run: echo ${{ matrix.a ==  }}\n'
    const errors = parseWorkflow({name: 'bad.yml', content}, new NoOperationTraceWriter()).context.errors.getErrors().map((error) => error.message)
    expect(errors).toEqual(["bad.yml (Line: 5, Col: 5): Unexpected value 'timeout'", "bad.yml (Line: 7, Col: 14): Unexpected end of expression: '=='"])
  })

  test('the check catches a command or flag that does not exist', () => {
    expect(cliInvocations('./bin/run.js compose tree "$T" --repo r \\\n  --contaner -o x && ./bin/run.js compse tree').flatMap(invocationProblems)).toEqual([
      'compose tree: unknown flag --contaner',
      'no apt-ostree command in: compse tree',
    ])
    expect(invocationProblems(['compose', 'image', 'T', 'I', '--no-dest-tls-verify', '--no-json'])).toEqual(['compose image: unknown flag --no-json'])
  })
})
