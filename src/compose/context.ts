import type {CommandLog} from '../tools/exec.js'
import type {ResolvedTreefile} from '../treefile/index.js'

/** What every stage that works on the rootfs gets. */
export interface StageContext {
  /** Host path of the rootfs being built. */
  root: string
  resolved: ResolvedTreefile
  log: CommandLog
  signal: AbortSignal
  sourceDateEpoch: number
  /** A live sub-line for the progress display. */
  progress: (line: string) => void
  /** Something the user should know that does not stop the compose. */
  warn: (message: string) => void
}

/** A named step of a stage: small, ordered, testable on a fixture tree. */
export interface TreeStep {
  name: string
  run: (context: StageContext) => Promise<void>
}
