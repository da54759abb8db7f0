import {readFile} from 'node:fs/promises'
import os from 'node:os'
import {UsageError} from '../errors.js'

/** One extent of a user namespace's id map: `count` ids from `inner` inside are `outer` outside. */
export interface IdExtent {
  inner: number
  outer: number
  count: number
}

/** The uid and gid maps of the build namespace, and what they are made from. */
export interface IdMap {
  uids: IdExtent[]
  gids: IdExtent[]
  /** Whether newuidmap must write the maps (an ordinary user) or we may (root). */
  privileged: boolean
  /** For messages: where the ranges come from. */
  source: string
}

/** The ids a tree uses: root, the system users, the ordinary users, nobody (65534). */
export const TREE_IDS = 65536

/**
 * The range root's sandbox uses when /etc/subuid gives root none: just past
 * the ranges systemd-nspawn picks from (0x00080000-0x6FFFFFFF) and far above
 * what useradd hands out, so no account and no container owns it.
 */
export const ROOT_DEFAULT_RANGE = 0x70000000

/** A range of ids in /etc/subuid or /etc/subgid. */
interface IdRange {
  owner: string
  start: number
  count: number
}

function rangesIn(text: string): IdRange[] {
  return text.split('\n').flatMap((line) => {
    const [owner, start, count] = line.trim().split(':')
    return owner && /^\d+$/.test(start ?? '') && /^\d+$/.test(count ?? '') ? [{owner, start: Number(start), count: Number(count)}] : []
  })
}

/** The first range of NAME (or of the uid) in /etc/subuid or /etc/subgid that holds at least COUNT ids. */
export function subordinateRange(text: string, name: string, id: number, count: number): {start: number; count: number} | undefined {
  return rangesIn(text).find((range) => (range.owner === name || range.owner === String(id)) && range.count >= count)
}

/** Where a new range of COUNT ids may go: past every range given so far (useradd starts at 100000). */
export function freeRangeStart(texts: string[]): number {
  return Math.max(100_000, ...texts.flatMap(rangesIn).map((range) => range.start + range.count))
}

async function readIds(file: string): Promise<string> {
  return readFile(file, 'utf8').catch(() => '')
}

/**
 * The id maps of the build namespace, where everything a treefile or a
 * package brings runs: the tree's 65536 ids map to ids that hold nothing on
 * the host. Root maps them to its subordinate range (or ROOT_DEFAULT_RANGE);
 * an ordinary user maps the tree's root to itself (so what the sandbox
 * writes is the user's) and the rest to its subordinate range, as rootless
 * podman and mkosi do.
 */
export async function buildIdMap(): Promise<IdMap> {
  const uid = process.getuid?.() ?? 0
  const gid = process.getgid?.() ?? 0
  const name = os.userInfo().username
  const [subuid, subgid] = await Promise.all([readIds('/etc/subuid'), readIds('/etc/subgid')])
  if (uid === 0) {
    const [outerUid, outerGid] = [subuid, subgid].map((text) => subordinateRange(text, name, uid, TREE_IDS)?.start ?? ROOT_DEFAULT_RANGE)
    return {
      uids: [{inner: 0, outer: outerUid, count: TREE_IDS}],
      gids: [{inner: 0, outer: outerGid, count: TREE_IDS}],
      privileged: true,
      source: outerUid === ROOT_DEFAULT_RANGE ? `ids ${ROOT_DEFAULT_RANGE}-${ROOT_DEFAULT_RANGE + TREE_IDS - 1} (root has no range in /etc/subuid)` : `root's range in /etc/subuid`,
    }
  }
  const [users, groups] = [subordinateRange(subuid, name, uid, TREE_IDS - 1), subordinateRange(subgid, name, uid, TREE_IDS - 1)]
  if (!users || !groups) {
    const missing = [...(users ? [] : ['/etc/subuid']), ...(groups ? [] : ['/etc/subgid'])]
    const start = freeRangeStart([subuid, subgid])
    const range = `${start}-${start + TREE_IDS - 1}`
    throw new UsageError(
      `composing as ${name} needs ${TREE_IDS - 1} subordinate ids in ${missing.join(' and ')}, for the tree's users; add them as root: usermod --add-subuids ${range} --add-subgids ${range} ${name}`,
    )
  }
  return {
    uids: [{inner: 0, outer: uid, count: 1}, {inner: 1, outer: users.start, count: TREE_IDS - 1}],
    gids: [{inner: 0, outer: gid, count: 1}, {inner: 1, outer: groups.start, count: TREE_IDS - 1}],
    privileged: false,
    source: `${name}'s ranges in /etc/subuid and /etc/subgid`,
  }
}

/** An id map as /proc/PID/uid_map takes it, and as newuidmap's arguments. */
export function mapLines(extents: IdExtent[]): string {
  return extents.map((extent) => `${extent.inner} ${extent.outer} ${extent.count}`).join('\n') + '\n'
}

/** The same ids seen from inside: the identity map, extent by extent (a child extent may not span two of its parent's). */
export function identityOf(extents: IdExtent[]): IdExtent[] {
  return extents.map((extent) => ({inner: extent.inner, outer: extent.inner, count: extent.count}))
}
