#!/usr/bin/env node
// Runs a job of a Gitea/GitHub Actions workflow on this machine, step by step,
// as a host-mode runner would: the steps that run are the ones written in the
// workflow file, so a pipeline is proven, not only written.
//
// What it knows: the workflow, job and step `env`; `defaults.run.shell` and
// `working-directory`; `if:` (with success(), failure(), always(),
// cancelled()); `${{ }}` expressions through GitHub's own evaluator
// (@actions/expressions); the github, env, vars, secrets, matrix, steps and
// runner contexts; GITHUB_OUTPUT and GITHUB_ENV; step `timeout-minutes` and
// `continue-on-error`; `actions/checkout` (copies this checkout's files into
// the workspace, kept between runs unless --workspace is new). Any other
// `uses:` is an error. Secret values are masked in the output.
import {spawn, execFileSync} from 'node:child_process'
import {copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, readlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {setTimeout, clearTimeout} from 'node:timers'
import {Evaluator, Lexer, Parser, data} from '@actions/expressions'
import {parse} from 'yaml'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const USAGE = `usage: node scripts/run-workflow.mjs WORKFLOW [options]

Runs one job of WORKFLOW for each selected matrix entry; exit 1 when a step fails.

  --job ID             the job (default: the workflow's only job)
  --matrix KEY=VALUE   run only entries with this value (repeatable); every
                       value must be one the workflow lists
  --event NAME         github.event_name (default: workflow_dispatch)
  --secret NAME[=VAL]  secrets.NAME; without =VAL, from the environment
  --var NAME=VALUE     vars.NAME (repository variables)
  --env NAME=VALUE     override a workflow or job env value (e.g. STATE_DIR)
  --workspace DIR      the checkout's directory, kept between runs (default: a
                       new temporary one, removed at the end)`

class WorkflowError extends Error {}

const STATUS_FUNCTIONS = ['success', 'failure', 'always', 'cancelled']

function main() {
  const {values, positionals} = parseArgs({
    allowPositionals: true,
    options: {
      job: {type: 'string'},
      matrix: {type: 'string', multiple: true, default: []},
      event: {type: 'string', default: 'workflow_dispatch'},
      secret: {type: 'string', multiple: true, default: []},
      var: {type: 'string', multiple: true, default: []},
      env: {type: 'string', multiple: true, default: []},
      workspace: {type: 'string'},
      help: {type: 'boolean'},
    },
  })
  if (values.help || positionals.length !== 1) {
    console.log(USAGE)
    return values.help ? 0 : 2
  }
  const workflowPath = path.resolve(positionals[0])
  const workflow = parse(readFileSync(workflowPath, 'utf8'))
  const jobIds = Object.keys(workflow.jobs ?? {})
  const jobId = values.job ?? (jobIds.length === 1 ? jobIds[0] : undefined)
  if (!jobId || !workflow.jobs[jobId]) throw new WorkflowError(`choose a job with --job: ${jobIds.join(', ')}`)
  const job = workflow.jobs[jobId]
  const secrets = Object.fromEntries(values.secret.map((entry) => {
    const [name, value] = splitPair(entry, '--secret', true)
    if (value === undefined && process.env[name] === undefined) throw new WorkflowError(`--secret ${name}: no value given and no ${name} in the environment`)
    return [name, value ?? process.env[name]]
  }))
  const run = {
    workflow,
    job,
    event: values.event,
    secrets,
    vars: Object.fromEntries(values.var.map((entry) => splitPair(entry, '--var'))),
    envOverrides: Object.fromEntries(values.env.map((entry) => splitPair(entry, '--env'))),
  }
  const entries = selectMatrix(job.strategy?.matrix, values.matrix.map((entry) => splitPair(entry, '--matrix')))
  const workspace = values.workspace ? path.resolve(values.workspace) : mkdtempSync(path.join(os.tmpdir(), 'workflow-workspace-'))
  mkdirSync(workspace, {recursive: true})
  return (async () => {
    let failed = 0
    try {
      for (const matrix of entries) {
        const title = `${workflow.name ?? path.basename(workflowPath)} / ${jobId}${Object.keys(matrix).length ? ` (${Object.values(matrix).join(', ')})` : ''}`
        if (!(await runJob(run, matrix, workspace, title))) failed++
      }
    } finally {
      if (!values.workspace) rmSync(workspace, {recursive: true, force: true})
    }
    return failed ? 1 : 0
  })()
}

function splitPair(entry, option, valueOptional = false) {
  const at = entry.indexOf('=')
  if (at < 0) {
    if (valueOptional) return [entry, undefined]
    throw new WorkflowError(`${option} ${entry}: expected NAME=VALUE`)
  }
  return [entry.slice(0, at), entry.slice(at + 1)]
}

/** The matrix entries (cartesian product of the listed values) that match the filters. */
function selectMatrix(matrix, filters) {
  if (!matrix) {
    if (filters.length) throw new WorkflowError('--matrix given, but the job has no matrix')
    return [{}]
  }
  const unsupported = Object.keys(matrix).filter((key) => key === 'include' || key === 'exclude' || !Array.isArray(matrix[key]))
  if (unsupported.length) throw new WorkflowError(`matrix keys this runner does not expand: ${unsupported.join(', ')}`)
  for (const [key, value] of filters) {
    if (!matrix[key]) throw new WorkflowError(`--matrix ${key}=${value}: the matrix has no key ${key} (it has ${Object.keys(matrix).join(', ')})`)
    if (!matrix[key].map(String).includes(value)) throw new WorkflowError(`--matrix ${key}=${value}: not in the workflow's list (${matrix[key].join(', ')})`)
  }
  let entries = [{}]
  for (const [key, values] of Object.entries(matrix)) entries = entries.flatMap((entry) => values.map((value) => ({...entry, [key]: value})))
  return entries.filter((entry) => filters.every(([key, value]) => String(entry[key]) === value))
}

async function runJob(run, matrix, workspace, title) {
  const {workflow, job} = run
  const temp = mkdtempSync(path.join(os.tmpdir(), 'workflow-runner-'))
  const started = performance.now()
  const steps = {}
  const results = []
  let status = 'success'
  const contexts = (env) => ({
    github: {event_name: run.event, workspace, job: job.name ?? '', ref: 'refs/heads/main', repository: path.basename(root), actions: true},
    runner: {temp, os: 'Linux', arch: os.arch() === 'arm64' ? 'ARM64' : 'X64', name: os.hostname()},
    env,
    vars: run.vars,
    secrets: run.secrets,
    matrix,
    strategy: {'fail-fast': job.strategy?.['fail-fast'] ?? true},
    steps,
  })
  const evaluateEnv = (block, env) => {
    const result = {...env}
    for (const [name, value] of Object.entries(block ?? {})) result[name] = run.envOverrides[name] ?? interpolate(String(value), contexts(result))
    return result
  }
  console.log(`\n=== ${title}`)
  try {
    let env = evaluateEnv(job.env, evaluateEnv(workflow.env, {}))
    const defaults = {...workflow.defaults?.run, ...job.defaults?.run}
    for (const [index, step] of job.steps.entries()) {
      const name = step.name ?? (step.uses ? `uses ${step.uses}` : `Run ${String(step.run).split('\n')[0]}`)
      const condition = step.if === undefined ? 'success()' : stripBraces(String(step.if))
      const guarded = STATUS_FUNCTIONS.some((fn) => new RegExp(`\\b${fn}\\s*\\(`).test(condition)) ? condition : `success() && (${condition})`
      if (!truthy(evaluate(guarded, contexts(env), status))) {
        results.push({name, outcome: 'skipped', seconds: 0})
        if (step.id) steps[step.id] = {outputs: {}, outcome: 'skipped', conclusion: 'skipped'}
        console.log(`--- ${name}: skipped (if: ${condition})`)
        continue
      }
      console.log(`--- ${name}`)
      const stepStarted = performance.now()
      const stepEnv = evaluateEnv(step.env, env)
      const files = {output: path.join(temp, `output-${index}`), env: path.join(temp, `env-${index}`), script: path.join(temp, `step-${index}.sh`)}
      writeFileSync(files.output, '')
      writeFileSync(files.env, '')
      let ok
      if (step.uses) {
        ok = checkout(step, workspace)
      } else {
        const script = interpolate(String(step.run), contexts(stepEnv))
        const cwd = path.resolve(workspace, step['working-directory'] ?? defaults['working-directory'] ?? '.')
        writeFileSync(files.script, script)
        ok = await runScript(files.script, step.shell ?? defaults.shell, cwd, {
          ...process.env,
          ...stepEnv,
          CI: 'true',
          GITHUB_ACTIONS: 'true',
          GITEA_ACTIONS: 'true',
          GITHUB_EVENT_NAME: run.event,
          GITHUB_WORKSPACE: workspace,
          GITHUB_OUTPUT: files.output,
          GITHUB_ENV: files.env,
          RUNNER_TEMP: temp,
        }, step['timeout-minutes'], Object.values(run.secrets))
      }
      const outcome = ok ? 'success' : 'failure'
      const conclusion = ok || truthy(step['continue-on-error'] ?? false) ? 'success' : 'failure'
      if (conclusion === 'failure') status = 'failure'
      if (step.id) steps[step.id] = {outputs: readKeyValues(files.output), outcome, conclusion}
      env = {...env, ...readKeyValues(files.env)}
      const seconds = (performance.now() - stepStarted) / 1000
      results.push({name, outcome, seconds})
      console.log(`--- ${name}: ${outcome} in ${seconds.toFixed(1)} s`)
    }
  } finally {
    rmSync(temp, {recursive: true, force: true})
  }
  const total = (performance.now() - started) / 1000
  console.log(`=== ${title}: ${status} in ${total.toFixed(1)} s`)
  for (const result of results) console.log(`    ${result.outcome.padEnd(8)} ${result.seconds.toFixed(1).padStart(7)} s  ${result.name}`)
  return status === 'success'
}

/** `actions/checkout`: this checkout's tracked and untracked-but-not-ignored files, copied over the workspace. */
function checkout(step, workspace) {
  if (!/^actions\/checkout@/.test(step.uses)) throw new WorkflowError(`uses: ${step.uses}: this runner only knows actions/checkout`)
  if (step.with?.clean !== false) {
    for (const entry of readdirSync(workspace)) rmSync(path.join(workspace, entry), {recursive: true, force: true})
  }
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {cwd: root, encoding: 'utf8'}).split('\0').filter(Boolean)
  let copied = 0
  for (const file of files) {
    const source = path.join(root, file)
    if (!existsSync(source) && !isSymlink(source)) continue // deleted in the working tree
    const target = path.join(workspace, file)
    mkdirSync(path.dirname(target), {recursive: true})
    rmSync(target, {force: true})
    if (isSymlink(source)) symlinkSync(readlinkSync(source), target)
    else copyFileSync(source, target)
    copied++
  }
  console.log(`copied ${copied} files of ${root} to ${workspace}`)
  return true
}

function isSymlink(file) {
  try {
    return lstatSync(file).isSymbolicLink()
  } catch {
    return false
  }
}

/** Run a step's script with the shell GitHub uses for it, masking secrets in its output. */
function runScript(file, shell, cwd, env, timeoutMinutes, secretValues) {
  // GitHub's defaults: `bash` means --noprofile --norc -eo pipefail; no shell means bash -e.
  const argv = shell === 'bash' ? ['bash', '--noprofile', '--norc', '-eo', 'pipefail', file]
    : shell === undefined ? ['bash', '-e', file]
      : shell === 'sh' ? ['sh', '-e', file]
        : shell.includes('{0}') ? shell.split(/\s+/).map((word) => word.replace('{0}', file))
          : undefined
  if (!argv) throw new WorkflowError(`shell: ${shell}: not supported by this runner`)
  const masks = secretValues.filter((value) => value.length > 0)
  const mask = (text) => masks.reduce((out, value) => out.split(value).join('***'), text)
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true})
    const timer = timeoutMinutes ? setTimeout(() => {
      console.log(`step timed out after ${timeoutMinutes} min`)
      process.kill(-child.pid, 'SIGTERM')
    }, timeoutMinutes * 60_000) : undefined
    child.stdout.on('data', (chunk) => process.stdout.write(mask(chunk.toString())))
    child.stderr.on('data', (chunk) => process.stderr.write(mask(chunk.toString())))
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code !== 0) console.log(`exit ${code ?? signal}`)
      resolve(code === 0)
    })
  })
}

/** GITHUB_OUTPUT / GITHUB_ENV: NAME=VALUE lines and NAME<<DELIMITER blocks. */
function readKeyValues(file) {
  const result = {}
  const lines = readFileSync(file, 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (!line) continue
    const heredoc = /^([^=]+)<<(.+)$/.exec(line)
    if (heredoc) {
      const end = lines.indexOf(heredoc[2], i + 1)
      if (end < 0) throw new WorkflowError(`${path.basename(file)}: no closing ${heredoc[2]} for ${heredoc[1]}`)
      result[heredoc[1]] = lines.slice(i + 1, end).join('\n')
      i = end
      continue
    }
    const [name, value] = splitPair(line, path.basename(file))
    result[name] = value
  }
  return result
}

function stripBraces(expression) {
  const match = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(expression)
  return match ? match[1] : expression
}

/** A string with `${{ expression }}` parts replaced by their values. */
function interpolate(text, contexts) {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expression) => evaluate(expression, contexts).coerceString())
}

function evaluate(expression, contexts, status = 'success') {
  const lexed = new Lexer(expression).lex()
  const functions = [
    {name: 'success', minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(status === 'success')},
    {name: 'failure', minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(status === 'failure')},
    {name: 'always', minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(true)},
    {name: 'cancelled', minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(false)},
  ]
  const tree = new Parser(lexed.tokens, Object.keys(contexts), functions).parse()
  const context = JSON.parse(JSON.stringify(contexts), data.reviver)
  return new Evaluator(tree, context, new Map(functions.map((fn) => [fn.name.toLowerCase(), fn]))).evaluate()
}

/** GitHub's truthiness: false, 0, NaN, '' and null are false. */
function truthy(value) {
  if (typeof value === 'boolean') return value
  switch (value.kind) {
    case data.Kind.Null: return false
    case data.Kind.Boolean: return value.value
    case data.Kind.Number: return value.value !== 0 && !Number.isNaN(value.value)
    case data.Kind.String: return value.value !== ''
    default: return true
  }
}

try {
  process.exitCode = await main()
} catch (error) {
  if (!(error instanceof WorkflowError)) throw error
  console.error(`run-workflow: ${error.message}`)
  process.exitCode = 2
}
