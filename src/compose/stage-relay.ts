import {secondsSince} from '../clock.js'
import type {WorkerEvent} from '../sandbox/worker-protocol.js'
import type {Reporter, StageProgress} from './reporter.js'

/**
 * The worker's stages shown as the host's own: each stage the worker
 * starts opens one with the reporter, which stays open until the next
 * starts or the worker ends; progress goes to the open one, each is timed.
 */
export class StageRelay {
  private current?: {name: string; started: number; progress: StageProgress; finish: (error?: unknown) => void}
  private readonly stages: Array<Promise<unknown>> = []
  /** Seconds per stage. */
  readonly timings: Record<string, number> = {}

  constructor(private readonly reporter: Reporter) {}

  /** A worker event, as WorkerOptions.onEvent takes it. */
  readonly onEvent = (event: Exclude<WorkerEvent, {event: 'done' | 'failed'}>): void => {
    if (event.event === 'stage') this.start(event.name)
    else if (event.event === 'progress') this.current?.progress.progress(event.line)
    else this.reporter.warn(event.message)
  }

  private start(name: string): void {
    this.finish()
    const stage: NonNullable<StageRelay['current']> = {name, started: performance.now(), progress: {progress: () => undefined, title: () => undefined}, finish: () => undefined}
    const finished = new Promise<void>((resolve, reject) => {
      stage.finish = (error) => (error === undefined ? resolve() : reject(error))
    })
    const done = this.reporter.stage(name, async (progress) => {
      stage.progress = progress
      await finished
    })
    this.stages.push(done.catch(() => undefined))
    this.current = stage
  }

  /** End the open stage: done, or failed with ERROR. */
  finish(error?: unknown): void {
    if (!this.current) return
    this.timings[this.current.name] = secondsSince(this.current.started)
    this.current.finish(error)
    this.current = undefined
  }

  /** Wait until the reporter has shown every stage's end. */
  async settled(): Promise<void> {
    await Promise.all(this.stages)
  }
}
