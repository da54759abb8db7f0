import type {TreeFs} from '../../sandbox/tree-fs.js'
import {AptOstreeError} from '../../errors.js'
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
 * A link target as the last field of a tmpfiles.d line: every systemd
 * decodes \xNN there, so what would end the field or the line (white
 * space, control characters), quotes and a backslash are written so, and
 * the specifier sign as %%. A name a package or a script chose is data,
 * never syntax.
 */
export function tmpfilesArgument(text: string): string {
  let field = ''
  for (const char of text) {
    const code = char.codePointAt(0)!
    if (code <= 0x20 || code === 0x7f || char === '\\' || char === '"' || char === "'") field += [...Buffer.from(char)].map((byte) => `\\x${byte.toString(16).padStart(2, '0')}`).join('')
    else field += char === '%' ? '%%' : char
  }
  return field
}

/**
 * A path as the path field of a tmpfiles.d line, or undefined when no
 * systemd the targets run reads it back the same: systemd 252 (bookworm)
 * only unquotes that field, later ones also decode \xNN, so a space is
 * written inside double quotes and control characters, quotes and
 * backslashes cannot be written at all.
 */
export function tmpfilesPath(text: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f"'\\]/.test(text)) return undefined
  const field = text.replaceAll('%', '%%')
  return /\s/.test(field) ? `"${field}"` : field
}

function pathField(target: string): string {
  const field = tmpfilesPath(target)
  if (field === undefined) throw new AptOstreeError(`internal: ${JSON.stringify(target)} cannot be named in tmpfiles.d`)
  return field
}

/** A `d` line; TARGET must be one tmpfilesPath can write. */
export function tmpfilesDirectory(target: string, mode: number, user: string, group: string): string {
  return `d ${pathField(target)} ${(mode & 0o7777).toString(8).padStart(4, '0')} ${user} ${group} - -`
}

/** An `L` line; TARGET must be one tmpfilesPath can write. */
export function tmpfilesLink(target: string, destination: string): string {
  return `L ${pathField(target)} - - - - ${tmpfilesArgument(destination)}`
}
