import type {TreeFs} from '../../sandbox/tree-fs.js'
import {isAccountName, readAccounts} from '../accounts.js'
import type {TreeStep} from '../step.js'

export const SYSUSERS_CONF = 'apt-ostree.conf'

async function declaredAccounts(tree: TreeFs): Promise<{users: Set<string>; groups: Set<string>}> {
  const users = new Set<string>()
  const groups = new Set<string>()
  const directory = '/usr/lib/sysusers.d'
  for (const entry of (await tree.list(directory)).filter((name) => name.endsWith('.conf') && name !== SYSUSERS_CONF)) {
    for (const line of ((await tree.readText(`${directory}/${entry}`)) ?? '').split('\n')) {
      const [type, name] = line.trim().split(/\s+/)
      if (type?.startsWith('u')) {
        users.add(name)
        groups.add(name)
      } else if (type === 'g') groups.add(name)
    }
  }
  return {users, groups}
}

// Fields of a sysusers.d line: a GECOS quoted (its quotes dropped), a path without white space; names are checked by accounts.ts.
// eslint-disable-next-line no-control-regex
const quote = (text: string | undefined): string => (text ? `"${text.replace(/["\\\x00-\x1f\x7f]/g, '')}"` : '-')
const pathField = (text: string | undefined): string => (text && /^\/\S*$/.test(text) ? text : '-')

/**
 * Users and groups the packages' maintainer scripts created get sysusers.d
 * lines, so a machine (and a derived image) creates them again with the same
 * ids: the 3-way /etc merge would otherwise keep the machine's old passwd.
 */
export const sysusers: TreeStep = {
  name: 'sysusers.d for package users',
  async run({tree}) {
    const {users, groups} = await readAccounts(tree)
    const declared = await declaredAccounts(tree)
    const lines = [
      ...groups.filter((group) => isAccountName(group.name) && !declared.groups.has(group.name)).map((group) => `g ${group.name} ${group.id}`),
      ...users
        .filter((user) => isAccountName(user.name) && !declared.users.has(user.name))
        .map((user) => `u ${user.name} ${user.id}:${user.gid} ${quote(user.gecos)} ${pathField(user.home)} ${pathField(user.shell)}`),
    ]
    await tree.write(`/usr/lib/sysusers.d/${SYSUSERS_CONF}`, `# Written by apt-ostree from the users and groups the packages created.\n${lines.join('\n')}\n`)
  },
}
