import type {TreeFs} from '../../sandbox/tree-fs.js'
import {parseTmpfilesLine} from '../../system-files.js'

/** Paths that the tree's tmpfiles.d files already declare (paths without specifiers). */
export async function declaredTmpfilesPaths(tree: TreeFs, except: string[] = []): Promise<Set<string>> {
  const declared = new Set<string>()
  for (const directory of ['/usr/lib/tmpfiles.d', '/etc/tmpfiles.d', '/usr/etc/tmpfiles.d']) {
    for (const entry of (await tree.list(directory)).filter((name) => name.endsWith('.conf') && !except.includes(name))) {
      for (const line of ((await tree.readText(`${directory}/${entry}`)) ?? '').split('\n')) {
        const target = parseTmpfilesLine(line)?.path
        if (target?.startsWith('/')) declared.add(target.replace(/\/+$/, ''))
      }
    }
  }
  return declared
}

/**
 * A path or argument as a tmpfiles.d field: what would end the field or the
 * line (white space, control characters), quotes, a backslash written as
 * \xNN, and the specifier sign as %%, so a name a package or a script chose
 * is data, never syntax.
 */
export function tmpfilesField(text: string): string {
  let field = ''
  for (const char of text) {
    const code = char.codePointAt(0)!
    if (code <= 0x20 || code === 0x7f || char === '\\' || char === '"' || char === "'") field += [...Buffer.from(char)].map((byte) => `\\x${byte.toString(16).padStart(2, '0')}`).join('')
    else field += char === '%' ? '%%' : char
  }
  return field
}

export function tmpfilesDirectory(target: string, mode: number, user: string, group: string): string {
  return `d ${tmpfilesField(target)} ${(mode & 0o7777).toString(8).padStart(4, '0')} ${user} ${group} - -`
}

export function tmpfilesLink(target: string, destination: string): string {
  return `L ${tmpfilesField(target)} - - - - ${tmpfilesField(destination)}`
}
