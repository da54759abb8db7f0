import path from 'node:path'
import {AptOstreeError} from './errors.js'
import {parseColonFile} from './system-files.js'

/**
 * A filesystem tree as the lint rules see it, whatever it came from: a
 * directory on disk, the layers of an OCI image, or the entries the image
 * writer is about to write. Keys are absolute paths ("/", "/usr/bin/bash").
 */
export interface FileTreeEntry {
  type: 'file' | 'directory' | 'symlink' | 'other'
  /** Permission bits including setuid/setgid/sticky (07777). */
  mode: number
  uid: number
  gid: number
  /** Bytes, for regular files; 0 otherwise. */
  size: number
  /** Symlink target. */
  target?: string
  /** The entry's name or symlink target is not valid UTF-8 (shown with U+FFFD). */
  invalidUtf8?: boolean
  /** The file's content (regular files only). */
  read?: () => Promise<Buffer>
}

export type FileTree = Map<string, FileTreeEntry>

/** The kernel's limit on links followed while resolving one path (ELOOP). */
const MAX_LINKS = 40

function prefixOf(directory: string): string {
  return directory === '/' ? '/' : `${directory}/`
}

/** Paths anywhere below `directory` (not following links), sorted. */
export function descendantsOf(tree: FileTree, directory: string): string[] {
  const prefix = prefixOf(directory)
  return [...tree.keys()].filter((key) => key.length > prefix.length && key.startsWith(prefix)).sort()
}

/** Paths directly inside `directory` (not following links), sorted. */
export function childrenOf(tree: FileTree, directory: string): string[] {
  const prefix = prefixOf(directory)
  return descendantsOf(tree, directory).filter((key) => !key.includes('/', prefix.length))
}

/**
 * Where `file` really is in the tree: each symlink on the way resolved as the
 * kernel would inside the root (absolute targets start again at the tree's
 * root), the last one only with `followLast`. Undefined when a component is
 * missing or the links loop.
 */
export function resolvePath(tree: FileTree, file: string, followLast = true): string | undefined {
  let pending = file.split('/').filter((name) => name !== '' && name !== '.')
  let current = '/'
  let links = 0
  while (pending.length > 0) {
    const name = pending.shift()!
    if (name === '..') {
      current = path.posix.dirname(current)
      continue
    }
    const next = `${prefixOf(current)}${name}`
    const entry = tree.get(next)
    if (!entry) return undefined
    if (entry.type === 'symlink' && (pending.length > 0 || followLast)) {
      if (++links > MAX_LINKS) return undefined
      const target = entry.target ?? ''
      if (target.startsWith('/')) current = '/'
      pending = [...target.split('/').filter((part) => part !== '' && part !== '.'), ...pending]
      continue
    }
    if (pending.length > 0 && entry.type !== 'directory') return undefined
    current = next
  }
  return current
}

/** The entry at `file` itself (a link is not followed), its parents resolved. */
export function entryAt(tree: FileTree, file: string): FileTreeEntry | undefined {
  const physical = resolvePath(tree, file, false)
  return physical === undefined ? undefined : tree.get(physical)
}

/** The entry at `file` after following links. */
export function resolveEntry(tree: FileTree, file: string): FileTreeEntry | undefined {
  const physical = resolvePath(tree, file)
  return physical === undefined ? undefined : tree.get(physical)
}

/** A regular file's text, following links; undefined when there is no regular file there. */
export async function readText(tree: FileTree, file: string): Promise<string | undefined> {
  const entry = resolveEntry(tree, file)
  if (entry?.type !== 'file') return undefined
  if (entry.size === 0) return ''
  if (!entry.read) throw new AptOstreeError(`${file}: the file's content is not available to the lint rules`)
  return (await entry.read()).toString('utf8')
}

/**
 * The files named *`suffix` in `directory` (following links to it), sorted by
 * name, as paths under `directory`: configuration drop-ins.
 */
export function dropInsOf(tree: FileTree, directory: string, suffix: string): string[] {
  const physical = resolvePath(tree, directory)
  if (physical === undefined || tree.get(physical)?.type !== 'directory') return []
  return childrenOf(tree, physical)
    .map((child) => path.posix.basename(child))
    .filter((name) => name.length > suffix.length && name.endsWith(suffix))
    .map((name) => `${directory}/${name}`)
}

/** The account databases; rules that name owners read them. */
export const ACCOUNT_FILES = /^\/etc\/(passwd|group)$/

/** The tree's /etc/passwd or /etc/group as fields per line. */
export async function readColonFile(tree: FileTree, file: string): Promise<string[][]> {
  return parseColonFile((await readText(tree, file)) ?? '')
}
