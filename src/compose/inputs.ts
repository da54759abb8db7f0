import {constants} from 'node:fs'
import {chmod, chown, mkdir, open, readlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../errors.js'
import {isWithin} from '../fs.js'
import {sha256} from '../hash.js'
import {quoted} from '../text.js'
import {originOf, usageErrorAt, type ResolvedTreefile} from '../treefile/index.js'

/** The files a treefile names, as this compose took them. */
export interface InputFiles {
  /** sha256 of each, by inputKey (the input hash's part). */
  digests: Record<string, string>
  /** Host path of each copy, by the path the treefile resolved it to. */
  copies: Map<string, string>
}

/**
 * How the input hash names a file the treefile names: its path relative to
 * the treefile when it is below the treefile's directory, else its absolute
 * path (a system keyring), so the hash does not depend on where the
 * checkout is.
 */
export function inputKey(resolved: ResolvedTreefile, file: string): string {
  const directory = path.dirname(resolved.path)
  return isWithin(directory, file) ? path.relative(directory, file) : file
}

const ARMOR = '-----BEGIN PGP PUBLIC KEY BLOCK-----'
/** A binary keyring's first byte: the header of a public-key packet (tag 6), old format with a one- or two-byte length, or new format. */
const PUBLIC_KEY_PACKET = new Set([0x98, 0x99, 0xc6])

/** An OpenPGP keyring's binary form, what gpgv reads (apt reads both forms); undefined when BYTES are no keyring. */
function binaryKeyring(bytes: Buffer): Buffer | undefined {
  if (PUBLIC_KEY_PACKET.has(bytes[0])) return bytes
  const text = bytes.toString('latin1')
  if (!text.trimStart().startsWith(ARMOR)) return undefined
  const body = text.split(/\r?\n\r?\n/).slice(1).join('\n').split('-----END')[0]
  return Buffer.from(body.split('\n').filter((line) => !line.startsWith('=')).join(''), 'base64')
}

/**
 * The keyring FILE as the copy holds it, refused at its `signed-by` line
 * when it is no OpenPGP keyring: what the treefile names must be a keyring
 * before its copy is kept and its digest published.
 */
function keyringCopy(resolved: ResolvedTreefile, file: string, bytes: Buffer): Buffer {
  const keyring = binaryKeyring(bytes)
  if (keyring) return keyring
  const repoIndex = resolved.treefile.repos.findIndex((repo) => resolved.keyrings[repo.name] === file)
  const repo = resolved.treefile.repos[repoIndex]
  throw usageErrorAt(originOf(resolved, 'repos', repoIndex, 'signed-by'), `keyring ${quoted(repo['signed-by']!)} of repo "${repo.name}" is not an OpenPGP keyring (gpg --export KEYID, armored or not)`)
}

/**
 * Copy every file the treefile names (add-files sources, scripts,
 * keyrings) into DIRECTORY, once, and hash the copies: later stages read
 * only these, so a file swapped for a link after the plan changes nothing,
 * the input hash is of what was used, and the sandbox sees files it could
 * not reach where they were (/tmp, a 0700 home). What a file really is
 * must still be in the directory the treefile check allowed it in (its
 * treefile's, or Debian's keyring directories for a keyring: readTreefileInput),
 * and a keyring must be an OpenPGP keyring.
 * OWNER (the build namespace's root, when we are root) gets the copies.
 */
export async function snapshotInputs(resolved: ResolvedTreefile, directory: string, owner?: {uid: number; gid: number}): Promise<InputFiles> {
  await mkdir(directory, {recursive: true})
  const digests: Record<string, string> = {}
  const copies = new Map<string, string>()
  const keyrings = new Set(Object.values(resolved.keyrings))
  for (const [index, {path: file, within}] of resolved.referencedFiles.entries()) {
    const {bytes, mode} = await readTreefileInput(file, within)
    const content = keyrings.has(file) ? keyringCopy(resolved, file, bytes) : bytes
    const copy = path.join(directory, `${index}-${path.basename(file)}`)
    await writeFile(copy, content)
    // add-files keeps a source's mode; a script must stay executable.
    await chmod(copy, mode)
    // The sandbox's root reads them, whatever their mode.
    if (owner) await chown(copy, owner.uid, owner.gid)
    digests[inputKey(resolved, file)] = sha256(bytes)
    copies.set(file, copy)
  }
  return {digests, copies}
}

/**
 * FILE's bytes and mode, read through one open descriptor whose real path
 * is checked to be in WITHIN: a file swapped for a link (or a directory on
 * its path for one) since the treefile was checked is refused, not read.
 */
async function readTreefileInput(file: string, within: string | undefined): Promise<{bytes: Buffer; mode: number}> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
    throw new AptOstreeError(`${file}: cannot read what the treefile names (${error.code === 'ENOENT' ? 'it is gone' : (error.code ?? error.message)})`)
  })
  try {
    const opened = await readlink(`/proc/self/fd/${handle.fd}`)
    if (within && (opened === within || !isWithin(within, opened))) throw new AptOstreeError(`${file}: what the treefile names now leads out of its directory (to ${opened}); refused`)
    const info = await handle.stat()
    if (!info.isFile()) throw new AptOstreeError(`${file}: what the treefile names is no longer a regular file`)
    return {bytes: await handle.readFile(), mode: info.mode & 0o7777}
  } finally {
    await handle.close()
  }
}

/** The treefile with every named file replaced by its copy, as the sandbox sees them (INSIDE maps host paths). */
export function treefileWithCopies(resolved: ResolvedTreefile, inputs: InputFiles, inside: (hostPath: string) => string): ResolvedTreefile {
  const copy = (file: string): string => inside(inputs.copies.get(file) ?? file)
  return {
    ...resolved,
    addFiles: resolved.addFiles.map((file) => ({...file, source: copy(file.source)})),
    postprocessScript: resolved.postprocessScript && copy(resolved.postprocessScript),
    keyrings: Object.fromEntries(Object.entries(resolved.keyrings).map(([name, keyring]) => [name, copy(keyring)])),
    referencedFiles: resolved.referencedFiles.map((file) => ({path: copy(file.path)})),
  }
}

/** The host path of the copy of each repo's keyring, by repo name. */
export function copiedKeyrings(resolved: ResolvedTreefile, inputs: InputFiles): Record<string, string> {
  return Object.fromEntries(Object.entries(resolved.keyrings).map(([name, keyring]) => [name, inputs.copies.get(keyring)!]))
}
