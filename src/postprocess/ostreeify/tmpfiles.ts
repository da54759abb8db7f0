import {readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {parseTmpfilesLine} from '../../system-files.js'

/** Paths that the tree's tmpfiles.d files already declare (paths without specifiers). */
export async function declaredTmpfilesPaths(root: string, except: string[] = []): Promise<Set<string>> {
  const declared = new Set<string>()
  for (const directory of ['usr/lib/tmpfiles.d', 'etc/tmpfiles.d', 'usr/etc/tmpfiles.d']) {
    const entries = await readdir(path.join(root, directory)).catch(() => [] as string[])
    for (const entry of entries.filter((name) => name.endsWith('.conf') && !except.includes(name))) {
      const text = await readFile(path.join(root, directory, entry), 'utf8').catch(() => '')
      for (const line of text.split('\n')) {
        const target = parseTmpfilesLine(line)?.path
        if (target?.startsWith('/')) declared.add(target.replace(/\/+$/, ''))
      }
    }
  }
  return declared
}

export function tmpfilesDirectory(target: string, mode: number, user: string, group: string): string {
  return `d ${target} ${(mode & 0o7777).toString(8).padStart(4, '0')} ${user} ${group} - -`
}

export function tmpfilesLink(target: string, destination: string): string {
  return `L ${target} - - - - ${destination}`
}
