import {ACCOUNT_FILES, dropInsOf, readColonFile, readText} from '../../file-tree.js'
import {problemIf, warning} from '../rule.js'
import type {FileTree} from '../../file-tree.js'

const SYSUSERS_DIRECTORIES = ['/usr/lib/sysusers.d', '/etc/sysusers.d']

/** The first fields of a sysusers.d line: whitespace-separated, or "quoted". */
function fields(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2])
}

/** Users and groups the tree's sysusers.d lines declare: `u` a user and its group, `g` a group. */
async function declaredAccounts(tree: FileTree): Promise<{users: Set<string>; groups: Set<string>}> {
  const users = new Set<string>()
  const groups = new Set<string>()
  for (const file of SYSUSERS_DIRECTORIES.flatMap((directory) => dropInsOf(tree, directory, '.conf'))) {
    for (const line of ((await readText(tree, file)) ?? '').split('\n')) {
      if (line.trimStart().startsWith('#')) continue
      const [type, name] = fields(line)
      if (name === undefined) continue
      if (type === 'u' || type === 'u!') {
        users.add(name)
        groups.add(name)
      } else if (type === 'g') {
        groups.add(name)
      }
    }
  }
  return {users, groups}
}

const undeclared = (names: string[], declared: Set<string>): string[] => [...new Set(names.filter((name) => !declared.has(name)))].sort()

export const sysusers = warning(
  'sysusers',
  'Check for users in /etc/passwd and groups in /etc/group that do not have corresponding systemd sysusers.d entries in /usr/lib/sysusers.d. This can cause a problem across upgrades because if /etc is not transient and is locally modified (commonly due to local user additions), then the contents of /etc/passwd in the new container image may not be visible. Using systemd-sysusers to allocate users and groups will ensure that these are allocated on system startup alongside other users. apt-ostree also counts the entries in /etc/sysusers.d.',
  async (tree) => {
    // No /etc/passwd, nothing to check, as bootc has it.
    if ((await readText(tree, '/etc/passwd')) === undefined) return []
    const declared = await declaredAccounts(tree)
    const users = (await readColonFile(tree, '/etc/passwd')).map(([name]) => name)
    const groups = (await readColonFile(tree, '/etc/group')).map(([name]) => name)
    return [
      ...problemIf('Found /etc/passwd entry without corresponding systemd sysusers.d', undeclared(users, declared.users)),
      ...problemIf('Found /etc/group entry without corresponding systemd sysusers.d', undeclared(groups, declared.groups)),
    ]
  },
  {reads: [ACCOUNT_FILES, /^\/(usr\/lib|etc)\/sysusers\.d\/[^/]+\.conf$/]},
)
