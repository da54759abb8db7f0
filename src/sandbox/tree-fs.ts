import {constants, type Stats} from 'node:fs'
import {chmod, copyFile, lstat, mkdir, open, readdir, readlink, rename, rm, symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../errors.js'

/** The kernel's limit on links followed while resolving one path (ELOOP). */
const MAX_LINKS = 40

/**
 * A tree the tool works on after its code has run (a package's or a
 * treefile's), through the one confined resolver: every path is a path in
 * the tree (`/etc/passwd`), and every link on the way is resolved as a
 * chroot resolves it: absolute targets start again at the tree's root, `..`
 * stops there. A link a script planted (`/boot/vmlinuz -> /etc/shadow`)
 * therefore leads to the tree's own file, never the host's; and what the
 * tool writes replaces a link, it does not write through it.
 */
export class TreeFs {
  constructor(readonly root: string) {}

  /**
   * The host path of INSIDE, every link resolved within the tree; the last
   * component only with `follow` (otherwise it is the entry itself).
   */
  async resolve(inside: string, follow = false): Promise<string> {
    const pending = inside.split('/').filter((part) => part !== '' && part !== '.')
    let resolved: string[] = []
    let links = 0
    while (pending.length > 0) {
      const part = pending.shift()!
      if (part === '..') {
        resolved.pop()
        continue
      }
      const candidate = path.join(this.root, ...resolved, part)
      const info = pending.length > 0 || follow ? await lstat(candidate).catch(() => undefined) : undefined
      if (info?.isSymbolicLink()) {
        if (++links > MAX_LINKS) throw new AptOstreeError(`${inside}: too many symbolic links in the tree (a loop?)`)
        const target = await readlink(candidate)
        if (target.startsWith('/')) resolved = []
        pending.unshift(...target.split('/').filter((segment) => segment !== '' && segment !== '.'))
        continue
      }
      resolved.push(part)
    }
    return path.join(this.root, ...resolved)
  }

  /** The entry at INSIDE itself (a link is not followed); undefined when there is none. */
  async lstat(inside: string): Promise<Stats | undefined> {
    return lstat(await this.resolve(inside)).catch(() => undefined)
  }

  async exists(inside: string): Promise<boolean> {
    return (await this.lstat(inside)) !== undefined
  }

  /** What INSIDE leads to, links followed within the tree; undefined when nothing. */
  async stat(inside: string): Promise<Stats | undefined> {
    return lstat(await this.resolve(inside, true)).catch(() => undefined)
  }

  /** A regular file's bytes, links followed within the tree. */
  async read(inside: string): Promise<Buffer> {
    const file = await this.resolve(inside, true)
    const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch((error: NodeJS.ErrnoException) => {
      throw new AptOstreeError(`${inside}: cannot read it in the tree (${error.code === 'ENOENT' ? 'no such file' : error.code})`)
    })
    try {
      if (!(await handle.stat()).isFile()) throw new AptOstreeError(`${inside}: not a regular file in the tree`)
      return await handle.readFile()
    } finally {
      await handle.close()
    }
  }

  /** A regular file's text; undefined when there is none. */
  async readText(inside: string): Promise<string | undefined> {
    if (!(await this.stat(inside))?.isFile()) return undefined
    return (await this.read(inside)).toString('utf8')
  }

  /** The names in a directory, sorted, links followed within the tree; [] when there is no such directory. */
  async list(inside: string): Promise<string[]> {
    const directory = await this.resolve(inside, true)
    if (!(await lstat(directory).catch(() => undefined))?.isDirectory()) return []
    return (await readdir(directory)).sort()
  }

  /** Write a file, replacing whatever is there (a link is replaced, not followed). */
  async write(inside: string, content: string | Buffer, mode = 0o644): Promise<void> {
    const target = await this.prepare(inside)
    await writeFile(target, content, {mode, flag: 'wx'})
    await chmod(target, mode)
  }

  /** Copy a host file (one the tool chose, not the tree) in, with MODE. */
  async copyIn(source: string, inside: string, mode: number): Promise<void> {
    const target = await this.prepare(inside)
    await copyFile(source, target, constants.COPYFILE_EXCL)
    await chmod(target, mode)
  }

  /** Copy a file of the tree to another place in it (links followed within the tree). */
  async copy(from: string, to: string, mode: number): Promise<void> {
    const source = await this.resolve(from, true)
    if (!(await lstat(source).catch(() => undefined))?.isFile()) throw new AptOstreeError(`${from}: not a regular file in the tree`)
    await this.copyIn(source, to, mode)
  }

  /** Make (or replace anything at INSIDE by) a symlink. */
  async symlink(inside: string, target: string): Promise<void> {
    await symlink(target, await this.prepare(inside))
  }

  /** Remove an entry, recursively; a link is removed, not followed. */
  async remove(inside: string): Promise<void> {
    await rm(await this.resolve(inside), {recursive: true, force: true})
  }

  /** Change a file's or directory's mode; a link is an error (chmod would follow it). */
  async chmod(inside: string, mode: number): Promise<void> {
    const target = await this.resolve(inside)
    const info = await lstat(target)
    if (info.isSymbolicLink()) throw new AptOstreeError(`${inside}: is a symbolic link in the tree, where a file was expected`)
    await chmod(target, mode)
  }

  /** Make a directory (and its parents) unless there is one. */
  async mkdir(inside: string, mode = 0o755): Promise<void> {
    const target = await this.resolve(inside, true)
    if ((await lstat(target).catch(() => undefined))?.isDirectory()) return
    await mkdir(target, {recursive: true, mode})
  }

  /** Move an entry (links in either path's parents resolved within the tree; the entries themselves not followed). */
  async rename(from: string, to: string): Promise<void> {
    const target = await this.resolve(to)
    await mkdir(path.dirname(target), {recursive: true})
    await rename(await this.resolve(from), target)
  }

  /** The host path to create INSIDE at: its parents made, whatever was there removed. */
  private async prepare(inside: string): Promise<string> {
    const target = await this.resolve(inside)
    if (target === this.root) throw new AptOstreeError(`${inside}: is the tree's root`)
    await mkdir(path.dirname(target), {recursive: true})
    await rm(target, {force: true, recursive: true})
    return target
  }
}
