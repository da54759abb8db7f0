import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import type {StageContext} from '../../src/postprocess/step.js'
import {loadTreefile} from '../../src/treefile/index.js'
import {CommandLog} from '../../src/tools/exec.js'
import {InsideSandbox} from '../../src/sandbox/bwrap.js'
import {TreeFs} from '../../src/sandbox/tree-fs.js'

/** A treefile that needs nothing beyond the keys a step reads: a container tree from an unsigned repo. */
const BASE = {
  ref: 'test/fixture',
  container: true,
  repos: [{name: 'debian', uris: ['http://deb.debian.org/debian'], suites: ['trixie'], trusted: true}],
  packages: ['bash'],
}

export interface FixtureContext {
  context: StageContext
  /** The warnings the steps gave. */
  warnings: string[]
  dispose: () => Promise<void>
}

/**
 * A real StageContext for a step under test: the treefile KEYS (merged over a
 * minimal one) written to a scratch directory beside FILES and loaded as a
 * compose loads it, the tree at ROOT, a command log in the scratch directory.
 */
export async function fixtureContext(root: string, keys: Record<string, unknown> = {}, options: {version?: string; files?: Record<string, string>} = {}): Promise<FixtureContext> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'apt-ostree-step-'))
  for (const [name, content] of Object.entries(options.files ?? {})) await writeFile(path.join(scratch, name), content, {mode: name.endsWith('.sh') ? 0o755 : 0o644})
  const treefile = path.join(scratch, 'treefile.yaml')
  await writeFile(treefile, YAML.stringify({...BASE, ...keys}))
  const resolved = await loadTreefile(treefile, {arch: 'amd64'})
  const log = new CommandLog(path.join(scratch, 'commands.log'))
  const warnings: string[] = []
  const controller = new AbortController()
  const context: StageContext = {
    root,
    tree: new TreeFs(root),
    // Steps that run the tree's own programs need a real tree: the integration tests compose one.
    sandbox: new InsideSandbox(),
    resolved,
    log,
    signal: controller.signal,
    sourceDateEpoch: 1767225600,
    version: options.version,
    scratch,
    progress: () => undefined,
    warn: (message) => warnings.push(message),
  }
  return {context, warnings, dispose: async () => {
    await log.close()
    await rm(scratch, {recursive: true, force: true})
  }}
}
