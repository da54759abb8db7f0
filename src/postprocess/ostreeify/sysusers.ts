import {readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {readAccounts} from '../accounts.js'
import {writeTreeFile} from '../../sandbox/rootfs-path.js'
import type {TreeStep} from '../step.js'

export const SYSUSERS_CONF = 'apt-ostree.conf'

async function declaredAccounts(root: string): Promise<{users: Set<string>; groups: Set<string>}> {
  const users = new Set<string>()
  const groups = new Set<string>()
  const directory = path.join(root, 'usr/lib/sysusers.d')
  for (const entry of (await readdir(directory).catch(() => [] as string[])).filter((name) => name.endsWith('.conf') && name !== SYSUSERS_CONF)) {
    for (const line of (await readFile(path.join(directory, entry), 'utf8')).split('\n')) {
      const [type, name] = line.trim().split(/\s+/)
      if (type?.startsWith('u')) {
        users.add(name)
        groups.add(name)
      } else if (type === 'g') groups.add(name)
    }
  }
  return {users, groups}
}

const quote = (text: string | undefined): string => (text ? `"${text.replaceAll('"', '')}"` : '-')

/**
 * Users and groups the packages' maintainer scripts created get sysusers.d
 * lines, so a machine (and a derived image) creates them again with the same
 * ids: the 3-way /etc merge would otherwise keep the machine's old passwd.
 */
export const sysusers: TreeStep = {
  name: 'sysusers.d for package users',
  async run({root}) {
    const {users, groups} = await readAccounts(root)
    const declared = await declaredAccounts(root)
    const lines = [
      ...groups.filter((group) => !declared.groups.has(group.name)).map((group) => `g ${group.name} ${group.id}`),
      ...users
        .filter((user) => !declared.users.has(user.name))
        .map((user) => `u ${user.name} ${user.id}:${user.gid} ${quote(user.gecos)} ${user.home || '-'} ${user.shell || '-'}`),
    ]
    await writeTreeFile(root, `/usr/lib/sysusers.d/${SYSUSERS_CONF}`, `# Written by apt-ostree from the users and groups the packages created.\n${lines.join('\n')}\n`)
  },
}
