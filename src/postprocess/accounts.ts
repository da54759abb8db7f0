import {readFile} from 'node:fs/promises'
import path from 'node:path'
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

async function readColonFile(root: string, name: string): Promise<string[][]> {
  for (const directory of ['etc', 'usr/etc']) {
    const text = await readFile(path.join(root, directory, name), 'utf8').catch(() => undefined)
    if (text !== undefined) return parseColonFile(text)
  }
  return []
}

/** The tree's own users and groups (never the host's). */
export async function readAccounts(root: string): Promise<{users: Account[]; groups: Account[]}> {
  const users = (await readColonFile(root, 'passwd')).map(([name, , uid, gid, gecos, home, shell]) => ({name, id: Number(uid), gid: Number(gid), gecos, home, shell}))
  const groups = (await readColonFile(root, 'group')).map(([name, , gid]) => ({name, id: Number(gid)}))
  return {users, groups}
}

/** uid and gid to names, for tmpfiles.d lines. */
export async function accountNames(root: string): Promise<{user: (uid: number) => string; group: (gid: number) => string}> {
  const {users, groups} = await readAccounts(root)
  const userNames = new Map(users.map((user) => [user.id, user.name]))
  const groupNames = new Map(groups.map((group) => [group.id, group.name]))
  return {user: (uid) => userNames.get(uid) ?? String(uid), group: (gid) => groupNames.get(gid) ?? String(gid)}
}
