import {packageId} from '../dpkg/status.js'
import {commitTree} from '../ostree/commit.js'
import {InsideSandbox} from '../sandbox/bwrap.js'
import {TreeFs} from '../sandbox/tree-fs.js'
import {CommandLog} from '../tools/exec.js'
import {OstreeRepo} from '../tools/ostree.js'
import {deserializeTreefile, type SerializedTreefile} from '../treefile/serialize.js'
import {WORKER_LOG, type WorkerReport} from '../sandbox/worker-protocol.js'
import {CUSTOMIZE_STEPS, OSTREEIFY_STEPS} from './index.js'
import {runSteps, type StageContext} from './step.js'

/** The stages the worker runs for a compose, in order: the host shows each as its own. */
export const TREE_STAGES = ['customize', 'ostreeify', 'commit'] as const

/** A compose's work on its bootstrapped tree, for the worker; every path is a path inside the sandbox. */
export interface TreeStagesJob {
  kind: 'tree-stages'
  resolved: SerializedTreefile
  root: string
  scratch: string
  /** The bare-user repo the commit goes to. */
  stagingRepo: string
  sourceDateEpoch: number
  timestamp: number
  version?: string
  parent?: string
  inputHash: string
  /** The input hash's parts, as canonical JSON (compose/plan.ts). */
  inputs: string
  extraMetadata: Record<string, string>
}

export interface TreeStagesResult {
  commit: string
  /** `name=version:arch`, sorted. */
  packages: string[]
  kernelVersion?: string
}


/**
 * customize → ostreeify → commit, run by the worker inside the sandbox: the
 * tool's own steps see the tree's owners and, through TreeFs, only the tree.
 */
export async function runTreeStages(job: TreeStagesJob, report: WorkerReport): Promise<TreeStagesResult> {
  // The host keeps the command log: ours goes to stderr, which it logs line by line.
  const log = new CommandLog(WORKER_LOG)
  try {
    const context: StageContext = {
      root: job.root,
      tree: new TreeFs(job.root),
      resolved: deserializeTreefile(job.resolved),
      log,
      signal: report.signal,
      sourceDateEpoch: job.sourceDateEpoch,
      version: job.version,
      scratch: job.scratch,
      sandbox: new InsideSandbox(),
      progress: report.progress,
      warn: report.warn,
    }
    report.stage('customize')
    await runSteps(CUSTOMIZE_STEPS, context)
    report.stage('ostreeify')
    await runSteps(OSTREEIFY_STEPS, context)
    report.stage('commit')
    context.progress('ostree commit')
    const committed = await commitTree(
      {repo: new OstreeRepo(job.stagingRepo), root: job.root, resolved: context.resolved, parent: job.parent, version: job.version, inputHash: job.inputHash, inputs: job.inputs, timestamp: job.timestamp, sourceDateEpoch: job.sourceDateEpoch, extraMetadata: job.extraMetadata},
      context,
    )
    return {commit: committed.commit, packages: committed.packages.map(packageId), kernelVersion: committed.kernelVersion}
  } finally {
    await log.close()
  }
}
