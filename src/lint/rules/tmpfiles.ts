import path from 'node:path'
import {parseTmpfilesLine, TMPFILES_ESCAPES} from '../../system-files.js'
import {ACCOUNT_FILES, descendantsOf, dropInsOf, readColonFile, readText, resolvePath} from '../../file-tree.js'
import {problemIf, warning} from '../rule.js'
import type {FileTree} from '../../file-tree.js'

const TMPFILES_DIRECTORIES = ['/usr/lib/tmpfiles.d', '/etc/tmpfiles.d']
/**
 * Where each declared path really is: its parent resolved through the tree's
 * links (systemd's provision.conf declares /root/.ssh, which is
 * /var/roothome/.ssh when /root links there), its last component kept.
 * Paths whose parent does not exist are left out: nothing can be there.
 */
async function declaredPaths(tree: FileTree): Promise<Set<string>> {
  const declared = new Set<string>()
  for (const file of TMPFILES_DIRECTORIES.flatMap((directory) => dropInsOf(tree, directory, '.conf'))) {
    for (const line of ((await readText(tree, file)) ?? '').split('\n')) {
      const declaredPath = parseTmpfilesLine(line)?.path
      if (declaredPath === undefined || !declaredPath.startsWith('/')) continue
      const normalized = path.posix.normalize(declaredPath).replace(/(.)\/+$/, '$1')
      const parent = resolvePath(tree, path.posix.dirname(normalized))
      if (parent !== undefined && normalized !== '/') declared.add(path.posix.join(parent, path.posix.basename(normalized)))
    }
  }
  return declared
}

/** A path as tmpfiles.d reads it: printable ASCII as is, other bytes as \xNN (bootc's escape_path). */
function escapeTmpfilesPath(text: string): string {
  if (/^[A-Za-z0-9/]+$/.test(text)) return text
  return [...Buffer.from(text)]
    .map((byte) => {
      if (byte === 0x5c) return '\\\\'
      const escape = Object.entries(TMPFILES_ESCAPES).find(([, value]) => value === byte)
      if (escape) return `\\${escape[0]}`
      return byte > 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`
    })
    .join('')
}

/** /var/run is a link to /run: tmpfiles.d lines name /run (bootc's canonicalize_escape_path). */
function canonicalTmpfilesPath(text: string): string {
  return escapeTmpfilesPath(text === '/var/run' || text.startsWith('/var/run/') ? `/run${text.slice('/var/run'.length)}` : text)
}

async function accountNames(tree: FileTree, file: string): Promise<Map<number, string>> {
  return new Map((await readColonFile(tree, file)).map(([name, , id]) => [Number(id), name]))
}

export const varTmpfiles = warning(
  'var-tmpfiles',
  'Check for content in /var that does not have corresponding systemd tmpfiles.d entries. This can cause a problem across upgrades because content in /var from the container image will only be applied on the initial provisioning. Instead, it\'s recommended to have /var effectively empty in the container image, and use systemd tmpfiles.d to generate empty directories and compatibility symbolic links as part of each boot. apt-ostree runs it on every kind of root (bootc only on the running root): an image\'s /var must be clean too.',
  async (tree) => {
    if (tree.get('/var')?.type !== 'directory') return []
    const declared = await declaredPaths(tree)
    const users = await accountNames(tree, '/etc/passwd')
    const groups = await accountNames(tree, '/etc/group')
    const missing: string[] = []
    const unsupported: string[] = []
    // Every directory and link needs its own line: one for a parent covers nothing below it.
    for (const file of descendantsOf(tree, '/var').filter((key) => !declared.has(key))) {
      const entry = tree.get(file)!
      if (entry.type === 'directory') {
        const mode = entry.mode.toString(8).padStart(4, '0')
        missing.push(`d ${canonicalTmpfilesPath(file)} ${mode} ${users.get(entry.uid) ?? entry.uid} ${groups.get(entry.gid) ?? entry.gid} - -`)
      } else if (entry.type === 'symlink') {
        missing.push(`L ${canonicalTmpfilesPath(file)} - - - - ${canonicalTmpfilesPath(entry.target ?? '')}`)
      } else {
        unsupported.push(file)
      }
    }
    return [
      ...problemIf('Found content in /var missing systemd tmpfiles.d entries', missing.sort()),
      ...problemIf('Found non-directory/non-symlink files in /var', unsupported),
    ]
  },
  {reads: [ACCOUNT_FILES, /^\/(usr\/lib|etc)\/tmpfiles\.d\/[^/]+\.conf$/]},
)
