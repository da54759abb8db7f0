import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {lstat, readdir, readlink} from 'node:fs/promises'
import path from 'node:path'
import {execa} from 'execa'

/** What two trees must agree on for one path. */
export interface PathFacts {
  type: 'file' | 'directory' | 'symlink' | 'other'
  mode: number
  uid: number
  gid: number
  target?: string
  /** sha256 of a regular file's content. */
  content?: string
  inode: number
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Every path under ROOT ("etc/passwd", ...), with `rename` applied to its relative path. */
export async function describeTree(root: string, rename: (relative: string) => string = (relative) => relative): Promise<Map<string, PathFacts>> {
  const facts = new Map<string, PathFacts>()
  const walk = async (relative: string): Promise<void> => {
    for (const name of await readdir(path.join(root, relative))) {
      const child = relative ? `${relative}/${name}` : name
      const absolute = path.join(root, child)
      const stats = await lstat(absolute)
      const type = stats.isDirectory() ? 'directory' : stats.isSymbolicLink() ? 'symlink' : stats.isFile() ? 'file' : 'other'
      facts.set(rename(child), {
        type,
        mode: stats.mode & 0o7777,
        uid: stats.uid,
        gid: stats.gid,
        target: type === 'symlink' ? await readlink(absolute) : undefined,
        content: type === 'file' ? await sha256(absolute) : undefined,
        inode: stats.ino,
      })
      if (type === 'directory') await walk(child)
    }
  }
  await walk('')
  return facts
}

/** Every extended attribute under ROOT as "path name=0xVALUE" lines (getfattr), paths relative and renamed. */
export async function describeXattrs(root: string, rename: (relative: string) => string = (relative) => relative): Promise<string[]> {
  const {stdout} = await execa('getfattr', ['--recursive', '--physical', '--dump', '--match=-', '--encoding=hex', '--absolute-names', root], {reject: false})
  const lines: string[] = []
  let current = ''
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) current = rename(path.relative(root, line.slice('# file: '.length)))
    else if (line.includes('=')) lines.push(`${current} ${line}`)
  }
  return lines.sort()
}

/** Groups of paths that share an inode (hard links), as sorted lists. */
export function hardLinkGroups(facts: Map<string, PathFacts>): string[][] {
  const byInode = new Map<number, string[]>()
  for (const [name, fact] of facts) if (fact.type === 'file') byInode.set(fact.inode, [...(byInode.get(fact.inode) ?? []), name])
  return [...byInode.values()].filter((group) => group.length > 1).map((group) => group.sort())
}
