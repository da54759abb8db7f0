import {lstat} from 'node:fs/promises'

/** Whether a directory entry exists (a link counts as itself, not followed). */
export function pathExists(file: string): Promise<boolean> {
  return lstat(file).then(() => true, () => false)
}
