import {existsSync, readdirSync} from 'node:fs'
import path from 'node:path'

// A cache dir may be shared with other tests' composes: a leftover check
// looks only at the work dirs that appeared after its own snapshot.

/** The work dirs in CACHEDIR now. */
export function workDirs(cacheDir: string): Set<string> {
  const work = path.join(cacheDir, 'work')
  return new Set(existsSync(work) ? readdirSync(work) : [])
}

/** The work dirs in CACHEDIR that were not there in BEFORE. */
export function workDirsSince(cacheDir: string, before: Set<string>): string[] {
  return [...workDirs(cacheDir)].filter((entry) => !before.has(entry))
}
