import type {Sandbox} from '../sandbox/bwrap.js'
import type {TreeFs} from '../sandbox/tree-fs.js'
import type {ResolvedTreefile} from '../treefile/index.js'
import type {JobContext} from '../workspace.js'

/** What every step that works on the tree gets. */
export interface StageContext extends JobContext {
  /** Host path of the tree being built: for the tree's own programs (the sandbox) and walks. */
  root: string
  /** The tree, through the confined resolver: how the steps read and write it. */
  tree: TreeFs
  resolved: ResolvedTreefile
  /** The time of every file the tree is built from. */
  sourceDateEpoch: number
  /** The commit's version, when it has one (mutate-os-release puts it in). */
  version?: string
  /** A directory outside the tree for a step's own files. */
  scratch: string
  /** Where the tree's own programs run (dracut, systemctl, scripts). */
  sandbox: Sandbox
}

/** A named step of the customize or ostreeify stage: small, ordered, testable on a fixture tree. */
export interface TreeStep {
  name: string
  run: (context: StageContext) => Promise<void>
}

/** Run STEPS in order on the context's tree, each named on the progress line as it starts. */
export async function runSteps(steps: readonly TreeStep[], context: StageContext): Promise<void> {
  for (const step of steps) {
    context.progress(step.name)
    await step.run(context)
  }
}
