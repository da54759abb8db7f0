import {Listr, ListrLogger, ProcessOutput} from 'listr2'
import type {Reporter, StageProgress} from '../compose/reporter.js'
import {printable} from '../text.js'

/** listr2's renderers as the commands use them: live on a terminal, a line per event in CI, nothing with --json or --quiet. */
export type Renderer = 'default' | 'verbose' | 'silent'

export function rendererFor(quiet: boolean): Renderer {
  return quiet ? 'silent' : process.stderr.isTTY && !process.env.CI ? 'default' : 'verbose'
}

/**
 * The pipeline's stages shown with listr2, one task list per stage as it
 * starts, on stderr, so stdout keeps only the result (and --json's document).
 */
export class ListrReporter implements Reporter {
  private readonly output = new ProcessOutput(process.stderr, process.stderr)

  constructor(
    private readonly renderer: Renderer,
    private readonly onWarning: (message: string) => void,
  ) {}

  async stage<T>(name: string, work: (stage: StageProgress) => Promise<T>): Promise<T> {
    let result: T | undefined
    const logger = (useIcons: boolean): ListrLogger => new ListrLogger({processOutput: this.output, useIcons})
    const tasks = new Listr<object, Renderer, Exclude<Renderer, 'default'>>(
      [
        {
          title: name,
          // One live line under the stage: its latest output.
          rendererOptions: {outputBar: 1},
          task: async (_, task): Promise<void> => {
            result = await work({
              // A line may be a package's output: escaped, it never acts on the terminal.
              progress: (line) => {
                task.output = printable(line)
              },
              title: (text) => {
                task.title = printable(text)
              },
            })
          },
        },
      ],
      {
        renderer: this.renderer,
        fallbackRenderer: this.renderer === 'silent' ? 'silent' : 'verbose',
        rendererOptions: {collapseSubtasks: false, logger: logger(this.renderer === 'default')},
        fallbackRendererOptions: {logTitleChange: true, logger: logger(false)},
        exitOnError: true,
        registerSignalListeners: false,
        collectErrors: false,
      },
    )
    await tasks.run()
    return result as T
  }

  skip(name: string, reason: string): void {
    if (this.renderer !== 'silent') this.output.toStderr(printable(`${name}: skipped (${reason})`))
  }

  warn(message: string): void {
    this.onWarning(message)
  }
}
