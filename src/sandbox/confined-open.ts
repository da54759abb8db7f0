import {constants} from 'node:fs'
import {lstat, open, readdir, type FileHandle} from 'node:fs/promises'
import {AptOstreeError} from '../errors.js'
import {quoted} from '../text.js'

/** How much of a path a refusal quotes: a blob's whole name (77 characters), not a hostile entry's 4 KiB. */
const QUOTED_PATH = 256

/**
 * The host's one way to open a file that sandboxed code wrote or named (a
 * boot entry's kernel, a loader grub-mkimage made, a file system image made
 * in the sandbox): RELATIVE is taken as data first (no `..`, nothing
 * absolute), then opened one component at a time below ROOT, each relative
 * to the directory opened before it and none of them followed if it is a
 * link (`/proc/self/fd/N/NAME` with O_NOFOLLOW: openat(2) as Node has it).
 * What is opened is then checked on the open descriptor, not by its path:
 * a regular file, never a device or a FIFO (O_NONBLOCK: opening a FIFO does
 * not wait for a writer). Nothing can swap a component between the check
 * and the use, because there is no second lookup.
 */
export async function openConfined(root: string, relative: string, what: string, kind: 'file' | 'directory' = 'file'): Promise<FileHandle> {
  const handle = await openConfinedIfPresent(root, relative, what, kind)
  if (!handle) throw new AptOstreeError(`${what} ${quoted(relative, QUOTED_PATH)}: no such file; refused`)
  return handle
}

/** openConfined, but undefined when some component of RELATIVE is not there (an optional file of an image layout). */
export async function openConfinedIfPresent(root: string, relative: string, what: string, kind: 'file' | 'directory' = 'file'): Promise<FileHandle | undefined> {
  const parts = confinedParts(relative, what)
  const refuse = (why: string): never => {
    throw new AptOstreeError(`${what} ${quoted(relative, QUOTED_PATH)}: ${why}; refused`)
  }
  // ROOT is the caller's (a directory the tool made, or a layout the user named): opened as named.
  let current = await open(root, constants.O_RDONLY | constants.O_DIRECTORY)
  let opened = false
  try {
    for (const [index, part] of parts.entries()) {
      const last = index === parts.length - 1
      // O_NOCTTY: a terminal device opened here would become the process's own before the check refuses it.
      const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NOCTTY | (last && kind === 'file' ? constants.O_NONBLOCK : constants.O_DIRECTORY)
      const entry = `/proc/self/fd/${current.fd}/${part}`
      const next = await open(entry, flags).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined
        // O_DIRECTORY on a link says ENOTDIR: which it was, for the message only.
        const link = error.code === 'ELOOP' || (await lstat(entry).catch(() => undefined))?.isSymbolicLink()
        return refuse(link ? 'a symbolic link on the way' : error.code === 'ENOTDIR' ? 'not a directory on the way' : (error.code ?? error.message))
      })
      if (!next) return undefined
      await current.close()
      current = next
    }
    if (kind === 'file' && !(await current.stat()).isFile()) refuse('not a regular file')
    opened = true
    return current
  } finally {
    if (!opened) await current.close()
  }
}

/** The names in the directory at RELATIVE below ROOT, opened as openConfined opens it; sorted. */
export async function listConfined(root: string, relative: string, what: string): Promise<string[]> {
  const directory = await openConfined(root, relative, what, 'directory')
  try {
    return (await readdir(`/proc/self/fd/${directory.fd}`)).sort()
  } finally {
    await directory.close()
  }
}

/** The bytes of the regular file at RELATIVE below ROOT, opened as openConfined opens it. */
export async function readConfined(root: string, relative: string, what: string): Promise<Buffer> {
  const file = await openConfined(root, relative, what)
  try {
    return await file.readFile()
  } finally {
    await file.close()
  }
}

/** Copy what openConfined opens to DESTINATION, a new file the host makes (mode 0600). */
export async function copyConfined(root: string, relative: string, destination: string, what: string): Promise<void> {
  const source = await openConfined(root, relative, what)
  try {
    const target = await open(destination, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
    try {
      for await (const chunk of source.createReadStream({autoClose: false})) await target.write(chunk as Buffer)
    } finally {
      await target.close()
    }
  } finally {
    await source.close()
  }
}

/**
 * RELATIVE's components, as data: a path below a root, so no empty name
 * but for doubled slashes, no `.` or `..`, no leading slash (an entry's
 * `/ostree/...` is relative to its /boot and is given without it).
 */
export function confinedParts(relative: string, what: string): string[] {
  // eslint-disable-next-line no-control-regex
  if (relative.startsWith('/') || /[\x00-\x1f\x7f]/.test(relative)) throw new AptOstreeError(`${what} ${quoted(relative, QUOTED_PATH)}: not a relative path; refused`)
  const parts = relative.split('/').filter((part) => part !== '')
  if (parts.length === 0 || parts.some((part) => part === '.' || part === '..')) throw new AptOstreeError(`${what} ${quoted(relative, QUOTED_PATH)}: not a path below its directory; refused`)
  return parts
}
