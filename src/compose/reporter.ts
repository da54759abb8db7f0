/** What a stage can say while it runs: a live sub-line, and its title once it knows more. */
export interface StageProgress {
  progress: (line: string) => void
  /** Replace the stage's title ("bootstrap" → "bootstrap: reusing the cached tree"). */
  title: (text: string) => void
}

/**
 * How a running pipeline tells the world what it does. The pipeline knows
 * nothing of terminals: the CLI shows stages with listr2, tests collect them.
 */
export interface Reporter {
  /** Run one named stage. */
  stage<T>(name: string, work: (stage: StageProgress) => Promise<T>): Promise<T>
  /** A stage that does not run, and why. */
  skip(name: string, reason: string): void
  /** Something the user should know that does not stop the compose. */
  warn(message: string): void
}

/** A reporter that shows nothing and keeps the warnings (for --json, and for tests). */
export class QuietReporter implements Reporter {
  readonly warnings: string[] = []
  readonly stages: string[] = []

  async stage<T>(name: string, work: (stage: StageProgress) => Promise<T>): Promise<T> {
    this.stages.push(name)
    return work({progress: () => undefined, title: () => undefined})
  }

  skip(): void {}

  warn(message: string): void {
    this.warnings.push(message)
  }
}
