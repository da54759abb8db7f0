import {open, readFile} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../errors.js'
import {run, type RunOptions} from '../tools/exec.js'
import type {OstreeRepo} from '../tools/ostree.js'

/** One path of a commit, as `ostree ls -R -X -C` describes it. */
export interface CommitEntry {
  /** Absolute: "/", "/usr/bin/bash". */
  path: string
  type: 'file' | 'directory' | 'symlink'
  mode: number
  uid: number
  gid: number
  size: number
  /** Content object checksum (files and symlinks). */
  checksum?: string
  target?: string
  xattrs: Array<[string, Buffer]>
}

/**
 * A commit's tree, read from a bare or bare-user repo: metadata from
 * `ostree ls`, file content straight from the content objects (which are
 * the plain file in those modes), with no checkout.
 */
export class CommitTree {
  private constructor(
    readonly repo: OstreeRepo,
    readonly commit: string,
    readonly entries: CommitEntry[],
  ) {}

  static async read(repo: OstreeRepo, commit: string, options: RunOptions = {}): Promise<CommitTree> {
    const mode = await repo.mode()
    if (mode !== 'bare' && mode !== 'bare-user') throw new AptOstreeError(`${repo.path}: reading content needs a bare or bare-user repo (this one is ${mode})`)
    const {stdout} = await run('ostree', ['ls', `--repo=${repo.path}`, '-R', '-X', '-C', commit, '/'], {label: 'ostree ls', ...options})
    return new CommitTree(repo, commit, parseOstreeLs(stdout))
  }

  /** The content object of a regular file. */
  objectPath(entry: CommitEntry): string {
    return contentObjectPath(this.repo.path, entry.checksum!)
  }

  readFile(entry: CommitEntry): Promise<Buffer> {
    return readFile(this.objectPath(entry))
  }

  /** Open a regular file's content for streaming. */
  openFile(entry: CommitEntry): ReturnType<typeof open> {
    return open(this.objectPath(entry))
  }
}

/** Where a bare or bare-user repo keeps a file's content: the file itself. */
export function contentObjectPath(repoPath: string, checksum: string): string {
  return path.join(repoPath, 'objects', checksum.slice(0, 2), `${checksum.slice(2)}.file`)
}

const LS_LINE = /^([-dl])(\d{5}) (\d+) (\d+) +(\d+) (?:([0-9a-f]{64}) )?(?:[0-9a-f]{64} )?\{ (.*) \} (\/.*)$/

/**
 * Parse `ostree ls -R -X -C` output. ostree prints names unescaped, so a
 * name holding a newline or " -> " cannot be told apart; ostree itself
 * requires UTF-8 names, and such names do not occur in Debian packages.
 */
export function parseOstreeLs(text: string): CommitEntry[] {
  const entries: CommitEntry[] = []
  for (const line of text.split('\n')) {
    if (!line) continue
    const match = LS_LINE.exec(line)
    if (!match) throw new AptOstreeError(`cannot parse ostree ls output: ${line}`)
    const [, kind, mode, uid, gid, size, checksum, xattrs, rest] = match
    const type = kind === 'd' ? 'directory' : kind === 'l' ? 'symlink' : 'file'
    const arrow = type === 'symlink' ? rest.indexOf(' -> ') : -1
    entries.push({
      path: arrow >= 0 ? rest.slice(0, arrow) : rest,
      type,
      mode: parseInt(mode, 8) & 0o7777,
      uid: Number(uid),
      gid: Number(gid),
      size: Number(size),
      checksum: type === 'directory' ? undefined : checksum,
      target: arrow >= 0 ? rest.slice(arrow + 4) : undefined,
      xattrs: parseGvariantXattrs(xattrs),
    })
  }
  return entries
}

/**
 * Parse GVariant text of type a(ayay): `@a(ayay) []` or
 * `[(b'security.capability', [byte 0x01, ...])]`. A bytestring `b'...'`
 * stands for its bytes plus the terminating NUL (GLib prints an `ay` that
 * way only when it ends in one); xattr names drop that NUL.
 */
export function parseGvariantXattrs(text: string): Array<[string, Buffer]> {
  const xattrs: Array<[string, Buffer]> = []
  let position = text.startsWith('@a(ayay)') ? 8 : 0
  const fail = (): never => {
    throw new AptOstreeError(`cannot parse xattrs from ostree ls: ${text}`)
  }
  const skipSpace = (): void => {
    while (text[position] === ' ' || text[position] === ',') position++
  }
  const expect = (token: string): void => {
    skipSpace()
    if (!text.startsWith(token, position)) fail()
    position += token.length
  }
  const bytes = (): Buffer => {
    skipSpace()
    if (text.startsWith("b'", position) || text.startsWith('b"', position)) {
      const quote = text[position + 1]
      position += 2
      const out: number[] = []
      while (position < text.length && text[position] !== quote) {
        if (text[position] === '\\') {
          const escaped = text[position + 1]
          const octal = /^[0-7]{1,3}/.exec(text.slice(position + 1))
          if (octal) {
            out.push(parseInt(octal[0], 8))
            position += 1 + octal[0].length
            continue
          }
          const simple: Record<string, number> = {n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11}
          out.push(simple[escaped] ?? escaped.charCodeAt(0))
          position += 2
        } else {
          out.push(...Buffer.from(text[position], 'utf8'))
          position++
        }
      }
      position++
      return Buffer.from([...out, 0])
    }
    if (text.startsWith('@ay', position)) position += 3
    expect('[')
    const out: number[] = []
    for (;;) {
      skipSpace()
      if (text[position] === ']') break
      if (text.startsWith('byte ', position)) position += 5
      const number = /^0x[0-9a-f]{1,2}|^\d{1,3}/i.exec(text.slice(position))
      if (!number) fail()
      out.push(Number(number![0]))
      position += number![0].length
    }
    position++
    return Buffer.from(out)
  }
  expect('[')
  for (;;) {
    skipSpace()
    if (text[position] === ']') break
    expect('(')
    const name = bytes()
    const value = bytes()
    expect(')')
    xattrs.push([name.subarray(0, name.at(-1) === 0 ? -1 : undefined).toString('utf8'), value])
  }
  return xattrs
}
