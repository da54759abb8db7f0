// The worker's entry point (src/sandbox/worker-protocol.ts): run by the
// host as `node main.js` inside the sandbox, as the build namespace's root,
// so the tool's own work on a tree sees the tree's owners and cannot reach
// the host. Like the CLI, it is a program of its own: it reports its
// errors as events and sets its exit status.
import {text} from 'node:stream/consumers'
import {AptOstreeError, fromSystemError} from '../errors.js'
import {treeDigest} from '../fs.js'
import {importImageTree, type ImportImageJob} from '../oci/import.js'
import {runTreeStages, type TreeStagesJob} from '../postprocess/stages.js'
import {eventLine, type WorkerEvent, type WorkerReport} from '../sandbox/worker-protocol.js'

/** A tree's digest: how a cached bootstrapped tree is checked. */
interface DigestJob {
  kind: 'digest'
  root: string
}

type WorkerJob = TreeStagesJob | DigestJob | ImportImageJob

const emit = (event: WorkerEvent): void => {
  process.stdout.write(eventLine(event))
}

const controller = new AbortController()
process.once('SIGTERM', () => controller.abort('SIGTERM'))
const report: WorkerReport = {
  stage: (name) => emit({event: 'stage', name}),
  progress: (line) => emit({event: 'progress', line}),
  warn: (message) => emit({event: 'warn', message}),
  signal: controller.signal,
}

async function run(job: WorkerJob): Promise<unknown> {
  switch (job.kind) {
    case 'tree-stages':
      return runTreeStages(job, report)
    case 'digest':
      return {digest: await treeDigest(job.root)}
    case 'import-image':
      return importImageTree(job, report)
  }
}

try {
  emit({event: 'done', result: await run(JSON.parse(await text(process.stdin)) as WorkerJob)})
} catch (thrown) {
  const error = fromSystemError(thrown)
  if (error instanceof AptOstreeError) emit({event: 'failed', message: error.message, exitCode: error.exitCode, details: error.details})
  else emit({event: 'failed', message: `internal error in the apt-ostree worker: ${(error as Error).stack ?? String(error)}`, exitCode: 1, details: []})
  process.exitCode = 1
}
