import type {TreeFs} from '../sandbox/tree-fs.js'
import {parseColonFile} from '../system-files.js'

export interface Account {
  name: string
  id: number
  /** Users: the primary group id. */
  gid?: number
  gecos?: string
  home?: string
  shell?: string
}

async function readColonFile(tree: TreeFs, name: string): Promise<string[][]> {
  for (const directory of ['/etc', '/usr/etc']) {
    const text = await tree.readText(`${directory}/${name}`)
    if (text !== undefined) return parseColonFile(text)
  }
  return []
}

/** The tree's own users and groups (never the host's). */
export async function readAccounts(tree: TreeFs): Promise<{users: Account[]; groups: Account[]}> {
  const users = (await readColonFile(tree, 'passwd')).map(([name, , uid, gid, gecos, home, shell]) => ({name, id: Number(uid), gid: Number(gid), gecos, home, shell}))
  const groups = (await readColonFile(tree, 'group')).map(([name, , gid]) => ({name, id: Number(gid)}))
  return {users, groups}
}

/** Whether tmpfiles.d and sysusers.d take NAME as a name; anything else (white space, say) would break their lines. */
export function isAccountName(name: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(name)
}

/** uid and gid to names, for tmpfiles.d lines: the number where the tree has no usable name. */
export async function accountNames(tree: TreeFs): Promise<{user: (uid: number) => string; group: (gid: number) => string}> {
  const {users, groups} = await readAccounts(tree)
  const userNames = new Map(users.filter((user) => isAccountName(user.name)).map((user) => [user.id, user.name]))
  const groupNames = new Map(groups.filter((group) => isAccountName(group.name)).map((group) => [group.id, group.name]))
  return {user: (uid) => userNames.get(uid) ?? String(uid), group: (gid) => groupNames.get(gid) ?? String(gid)}
}
