import {rmSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {ToolError, UsageError} from '../errors.js'
import {concealed, run, type RunOptions} from './exec.js'

/** A registry account (`--creds USERNAME:PASSWORD`). */
export interface RegistryCredentials {
  username: string
  password: string
}

/** How to reach a registry: TLS verification, an auth file, credentials. */
export interface RegistryAccess {
  tlsVerify?: boolean
  authfile?: string
  credentials?: RegistryCredentials
}

/**
 * `USERNAME:PASSWORD`, split at the first colon as skopeo splits it. A
 * missing password is refused: skopeo would ask for it on a terminal. The
 * message never quotes the value, which may be a password.
 */
export function parseCredentials(text: string, flag = '--creds'): RegistryCredentials {
  const colon = text.indexOf(':')
  if (colon <= 0 || colon === text.length - 1) throw new UsageError(`${flag}: expected USERNAME:PASSWORD, both not empty`)
  return {username: text.slice(0, colon), password: text.slice(colon + 1)}
}

/**
 * The registry (host[:port]) of a `docker://NAME` reference, as
 * containers/image names it and looks it up in an auth file: the first
 * component when it has a dot or a port, is localhost or has upper case
 * (docker's rule), else Docker Hub. undefined for another transport.
 */
export function registryOf(reference: string): string | undefined {
  const name = /^docker:\/\/(.+)$/.exec(reference)?.[1]
  if (name === undefined) return undefined
  const first = name.includes('/') ? name.slice(0, name.indexOf('/')) : ''
  const isHost = /[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase()
  return !isHost || first === 'index.docker.io' ? 'docker.io' : first
}

/**
 * Run WORK with the auth file skopeo is to read for REFERENCE. Credentials
 * never go on skopeo's command line (every user reads /proc/PID/cmdline) or
 * into the command log: they go into a containers-auth.json of their own,
 * 0600 in a fresh 0700 directory, removed on every way out (an exit on a
 * second ^C too); whatever skopeo says, or a registry makes it say, is
 * logged and reported with the password and its Basic token hidden.
 *
 * With --authfile too, the credentials win and the file is not read: what
 * skopeo does with --authfile and --creds (containers/image returns the
 * credentials before it looks at any file), so the combination means what
 * its users know. Each call reaches one registry, so no other entry of the
 * file is needed.
 */
async function withAuthFile<T>(reference: string, access: RegistryAccess, options: RunOptions, work: (authfile: string | undefined, options: RunOptions) => Promise<T>): Promise<T> {
  const {credentials} = access
  const registry = registryOf(reference)
  if (!credentials || !registry) return work(access.authfile, options)
  const token = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')
  const secrets = [credentials.password, token]
  options.log?.conceal(secrets)
  const {onLine} = options
  const directory = await mkdtemp(path.join(os.tmpdir(), 'apt-ostree-auth-'))
  const remove = (): void => rmSync(directory, {recursive: true, force: true})
  process.once('exit', remove)
  try {
    const authfile = path.join(directory, 'auth.json')
    await writeFile(authfile, JSON.stringify({auths: {[registry]: {auth: token}}}), {mode: 0o600, flag: 'wx'})
    return await work(authfile, {...options, onLine: onLine && ((line) => onLine(concealed(line, secrets)))})
  } catch (error) {
    if (!(error instanceof ToolError)) throw error
    throw new ToolError(error.command, concealed(error.message, secrets), error.stderr.map((line) => concealed(line, secrets)), error.logFile)
  } finally {
    process.off('exit', remove)
    await rm(directory, {recursive: true, force: true})
  }
}

/** skopeo's TLS and auth-file options, named for the side they are for: `--dest-` of copy, `--` of inspect. */
function accessArgs(prefix: '--dest-' | '--', tlsVerify: boolean | undefined, authfile: string | undefined): string[] {
  return [...(tlsVerify === undefined ? [] : [`${prefix}tls-verify=${tlsVerify}`]), ...(authfile ? [`${prefix}authfile=${authfile}`] : [])]
}

/** Copy an image between transports; blobs are moved as they are (no recompression), so digests stay. */
export async function skopeoCopy(source: string, destination: string, access: RegistryAccess = {}, options: RunOptions & {allPlatforms?: boolean} = {}): Promise<void> {
  // --all: an index goes as it is, every platform's image with it (without, skopeo copies the host's).
  const {allPlatforms, ...runOptions} = options
  await withAuthFile(destination, access, runOptions, async (authfile, concealing) => {
    await run('skopeo', ['copy', '--quiet', ...(allPlatforms ? ['--all'] : []), ...accessArgs('--dest-', access.tlsVerify, authfile), source, destination], {label: `skopeo copy to ${destination}`, ...concealing})
  })
}

/** The raw manifest of an image (`skopeo inspect --raw`). */
export async function skopeoRawManifest(reference: string, access: RegistryAccess = {}, options: RunOptions = {}): Promise<string> {
  return withAuthFile(reference, access, options, async (authfile, concealing) => {
    return (await run('skopeo', ['inspect', '--raw', ...accessArgs('--', access.tlsVerify, authfile), reference], {label: `skopeo inspect ${reference}`, ...concealing})).stdout
  })
}

/**
 * Copy an image into a local `oci:DIR:TAG` layout to read it. Signatures are
 * dropped: a layout cannot hold them, and skopeo refuses to copy a signed
 * image there otherwise.
 */
export async function skopeoCopyToLayout(source: string, layout: string, options: RunOptions & {allPlatforms?: boolean} = {}): Promise<void> {
  const {allPlatforms, ...runOptions} = options
  await run('skopeo', ['copy', '--quiet', '--remove-signatures', ...(allPlatforms ? ['--all'] : []), source, layout], {label: `skopeo copy ${source}`, ...runOptions})
}
