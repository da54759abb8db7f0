import {readFile, realpath, stat} from 'node:fs/promises'
import path from 'node:path'
import {pointer, type Located} from './location.js'
import {insideDirectory} from '../fs.js'
import type {Treefile} from './treefile.generated.js'
import type {AddFile} from './types.js'

/** Where the image keeps the keys of its remote NAME (the remote's gpgkeypath). */
export function remoteKeyDirectory(name: string): string {
  return `/usr/share/apt-ostree/remotes/${name}`
}

/** A URI's user:password@ part, which a treefile must not carry (it would be printed and kept in the image). */
export function hasCredentials(uri: string): boolean {
  return /^[a-z+]+:\/\/[^/]*@/.test(uri)
}

/**
 * `remote`: its URL without credentials, its keys ASCII-armored files
 * inside the naming treefile's directory, each added to the tree as an
 * add-files entry under remoteKeyDirectory (the input hash and the copy
 * the compose takes cover them like any add-files source).
 */
export async function checkRemote(remote: Treefile['remote'], at: (ptr: string, part?: 'key' | 'value') => Located, report: (location: Located, message: string) => void, addFiles: AddFile[], destinations: Map<string, Located>): Promise<void> {
  if (remote === undefined) return
  if (hasCredentials(remote.url)) report(at('/remote/url'), 'remote url with credentials (user:password@) is refused: the image would carry them')
  for (const [index, key] of (remote['gpg-keys'] ?? []).entries()) {
    const origin = at(pointer('remote', 'gpg-keys', index))
    const directory = path.dirname(origin.path)
    const absolute = path.resolve(directory, key)
    const info = await stat(absolute).catch(() => undefined)
    if (path.isAbsolute(key) || !insideDirectory(directory, absolute)) report(origin, `remote key ${key} must be a path inside the treefile's directory`)
    else if (!info?.isFile()) report(origin, `remote key ${key} ${info ? 'is not a regular file' : 'does not exist'}`)
    else if (!insideDirectory(await realpath(directory), await realpath(absolute))) report(origin, `remote key ${key} is a link that leaves the treefile's directory`)
    else if (!(await readFile(absolute, 'latin1')).includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) report(origin, `remote key ${key} is not an ASCII-armored public key (gpg --export --armor KEYID > ${path.basename(key)})`)
    else {
      const destination = `${remoteKeyDirectory(remote.name)}/${index}-${path.basename(key).replace(/[^A-Za-z0-9._-]/g, '_')}`
      destinations.set(destination, origin)
      addFiles.push({source: absolute, destination, origin})
    }
  }
}

