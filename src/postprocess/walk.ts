import {lstat, readdir} from 'node:fs/promises'
import type {Stats} from 'node:fs'
import path from 'node:path'

export interface TreeEntry {
  /** Path relative to the root, without a leading slash. */
  relative: string
  absolute: string
  stats: Stats
}

/** Every entry below `directory` (not following links), parents before children, names sorted. */
export async function* walkTree(root: string, directory = ''): AsyncGenerator<TreeEntry> {
  const absoluteDirectory = path.join(root, directory)
  const names = (await readdir(absoluteDirectory)).sort()
  for (const name of names) {
    const relative = directory ? `${directory}/${name}` : name
    const absolute = path.join(root, relative)
    const stats = await lstat(absolute)
    yield {relative, absolute, stats}
    if (stats.isDirectory()) yield* walkTree(root, relative)
  }
}
