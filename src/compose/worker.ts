// The tree worker's entry point (see worker-protocol.ts): run by the host
// as `node worker.js` inside the sandbox, as the build namespace's root, so
// the tool's own steps see the tree's owners and cannot reach the host.
import {text} from 'node:stream/consumers'
import {AptOstreeError, fromSystemError} from '../errors.js'
import {commitTree} from '../ostree/commit.js'
import {CUSTOMIZE_STEPS, OSTREEIFY_STEPS, runSteps, type StageContext} from '../postprocess/index.js'
import {InsideSandbox} from '../sandbox/bwrap.js'
import {TreeFs} from '../sandbox/tree-fs.js'
import {CommandLog} from '../tools/exec.js'
import {OstreeRepo} from '../tools/ostree.js'
import {treeDigest} from '../fs.js'
import {deserializeTreefile, eventLine, type ComposeJob, type ComposeResult, type TreeWorkerJob, type WorkerEvent} from './worker-protocol.js'
import {packageId} from '../dpkg/status.js'

const emit = (event: WorkerEvent): void => {
  process.stdout.write(eventLine(event))
}

async function compose(job: ComposeJob): Promise<ComposeResult> {
  // The host keeps the command log: ours goes to stderr, which it logs line by line.
  const log = new CommandLog('/dev/stderr')
  const controller = new AbortController()
  process.once('SIGTERM', () => controller.abort('SIGTERM'))
  const context: StageContext = {
    root: job.root,
    tree: new TreeFs(job.root),
    resolved: deserializeTreefile(job.resolved),
    log,
    signal: controller.signal,
    sourceDateEpoch: job.sourceDateEpoch,
    version: job.version,
    scratch: job.scratch,
    sandbox: new InsideSandbox(),
    progress: (line) => emit({event: 'progress', line}),
    warn: (message) => emit({event: 'warn', message}),
  }
  emit({event: 'stage', name: 'customize'})
  await runSteps(CUSTOMIZE_STEPS, context)
  emit({event: 'stage', name: 'ostreeify'})
  await runSteps(OSTREEIFY_STEPS, context)
  emit({event: 'stage', name: 'commit'})
  context.progress('ostree commit')
  const committed = await commitTree(
    {repo: new OstreeRepo(job.stagingRepo), root: job.root, resolved: context.resolved, parent: job.parent, version: job.version, inputHash: job.inputHash, timestamp: job.timestamp, extraMetadata: job.extraMetadata},
    context,
  )
  await log.close()
  return {commit: committed.commit, packages: committed.packages.map(packageId), kernelVersion: committed.kernelVersion}
}

try {
  const job = JSON.parse(await text(process.stdin)) as TreeWorkerJob
  emit({event: 'done', result: job.kind === 'compose' ? await compose(job) : {digest: await treeDigest(job.root)}})
} catch (thrown) {
  const error = fromSystemError(thrown)
  if (error instanceof AptOstreeError) emit({event: 'failed', message: error.message, exitCode: error.exitCode, details: error.details})
  else emit({event: 'failed', message: `internal error in the tree worker: ${(error as Error).stack ?? String(error)}`, exitCode: 1, details: []})
  process.exitCode = 1
}
