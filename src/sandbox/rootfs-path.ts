import {lstat, mkdir, readlink, rm, writeFile, symlink, copyFile, chmod} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../errors.js'

const MAX_LINKS = 40

/**
 * The host path of `inside` (an absolute path in the tree), resolving every
 * symlink but the last component as a chroot would: absolute targets restart
 * at the tree's root and ".." stops there. Nothing the tool writes through the
 * result can land outside the tree.
 */
export async function hostPathInTree(root: string, inside: string): Promise<string> {
  const parts = inside.split('/').filter((part) => part !== '' && part !== '.')
  const last = parts.pop()
  if (last === undefined) return root
  if (last === '..') throw new AptOstreeError(`path ${inside} ends in ".."`)
  let resolved: string[] = []
  let links = 0
  const pending = [...parts]
  while (pending.length > 0) {
    const part = pending.shift()!
    if (part === '..') {
      resolved.pop()
      continue
    }
    const candidate = path.join(root, ...resolved, part)
    const info = await lstat(candidate).catch(() => undefined)
    if (info?.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new AptOstreeError(`too many symbolic links resolving ${inside} in the tree`)
      const target = await readlink(candidate)
      if (target.startsWith('/')) resolved = []
      pending.unshift(...target.split('/').filter((segment) => segment !== '' && segment !== '.'))
      continue
    }
    resolved.push(part)
  }
  return path.join(root, ...resolved, last)
}

/** Write a file in the tree, replacing whatever is there (a link is replaced, not followed). */
export async function writeTreeFile(root: string, inside: string, content: string | Buffer, mode = 0o644): Promise<string> {
  const target = await hostPathInTree(root, inside)
  await mkdir(path.dirname(target), {recursive: true})
  await rm(target, {force: true, recursive: true})
  await writeFile(target, content, {mode, flag: 'wx'})
  await chmod(target, mode)
  return target
}

/** Copy a host file into the tree, keeping its mode. */
export async function copyIntoTree(root: string, source: string, inside: string, mode: number): Promise<void> {
  const target = await hostPathInTree(root, inside)
  await mkdir(path.dirname(target), {recursive: true})
  await rm(target, {force: true, recursive: true})
  await copyFile(source, target)
  await chmod(target, mode)
}

/** Create (or replace) a symlink in the tree. */
export async function linkInTree(root: string, inside: string, target: string): Promise<void> {
  const at = await hostPathInTree(root, inside)
  await mkdir(path.dirname(at), {recursive: true})
  await rm(at, {force: true, recursive: true})
  await symlink(target, at)
}
