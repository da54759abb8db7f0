import {open, readFile, rm} from 'node:fs/promises'
import {AptOstreeError} from './errors.js'

/** A lock held by this process; released on every exit path. */
export class Lock {
  private constructor(private readonly file: string) {}

  /**
   * Take the lock or fail clearly: two composes on one repo or cache would
   * corrupt each other. A lock left by a dead process is taken over.
   */
  static async acquire(file: string, what: string): Promise<Lock> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(file, 'wx')
        await handle.writeFile(`${process.pid}\n`)
        await handle.close()
        return new Lock(file)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim())
        if (pid && isAlive(pid)) throw new AptOstreeError(`${what} is in use by another compose (pid ${pid}); wait for it to finish (lock: ${file})`)
        await rm(file, {force: true})
      }
    }
    throw new AptOstreeError(`could not lock ${what} (${file})`)
  }

  async release(): Promise<void> {
    await rm(this.file, {force: true})
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
