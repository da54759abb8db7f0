/**
 * Parsers of the system's own configuration formats, one each, shared by the
 * compose (a tree on disk), the image writer (a commit) and the lint rules
 * (any tree).
 */

/** /etc/passwd, /etc/group and the like: the fields of each line, comments and blank lines left out. */
export function parseColonFile(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'))
}

/** The backslash escapes tmpfiles.d paths use besides \xNN. */
export const TMPFILES_ESCAPES: Record<string, number> = {'\\': 0x5c, n: 0x0a, r: 0x0d, t: 0x09}

/** One tmpfiles.d line: `Type Path Mode User Group Age Argument`, "-" where a field is not set. */
export interface TmpfilesLine {
  type: string
  /** Unescaped, with %% as %; undefined when it holds another specifier (only systemd can resolve those) or a bad escape. */
  path?: string
  mode: string
  user: string
  group: string
  age: string
  /** The rest of the line (a link target, file content, ...); "" when absent. */
  argument: string
}

/** A path field's bytes with \\, \n, \r, \t and \xNN resolved; undefined for any other escape. */
function unescapePath(field: string): string | undefined {
  const bytes = Buffer.from(field)
  const out: number[] = []
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x5c) {
      out.push(bytes[i])
      continue
    }
    const escape = String.fromCharCode(bytes[i + 1] ?? 0)
    const hex = bytes.subarray(i + 2, i + 4).toString('latin1')
    if (escape === 'x' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16))
      i += 3
    } else if (escape in TMPFILES_ESCAPES) {
      out.push(TMPFILES_ESCAPES[escape])
      i += 1
    } else {
      return undefined
    }
  }
  const unescaped = Buffer.from(out).toString('utf8')
  return unescaped.replaceAll('%%', '').includes('%') ? undefined : unescaped.replaceAll('%%', '%')
}

/** Split a tmpfiles.d line as systemd-tmpfiles does; undefined for comments, blank and malformed lines. */
export function parseTmpfilesLine(line: string): TmpfilesLine | undefined {
  const fields: string[] = []
  let rest = line.trimStart()
  if (rest === '' || rest.startsWith('#')) return undefined
  while (fields.length < 6 && rest !== '') {
    const field = /^"([^"]*)"|^\S+/.exec(rest)!
    fields.push(field[1] ?? field[0])
    rest = rest.slice(field[0].length).trimStart()
  }
  if (fields.length < 2) return undefined
  const [type, path, mode = '-', user = '-', group = '-', age = '-'] = fields
  return {type, path: unescapePath(path), mode, user, group, age, argument: rest.trimEnd()}
}
