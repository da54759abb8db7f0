import {run, type RunOptions} from './exec.js'

/** How to reach a registry: TLS verification, an auth file, credentials. */
export interface RegistryAccess {
  tlsVerify?: boolean
  authfile?: string
  creds?: string
}

function accessArgs(side: 'src' | 'dest', access: RegistryAccess): string[] {
  return [
    ...(access.tlsVerify === undefined ? [] : [`--${side}-tls-verify=${access.tlsVerify}`]),
    ...(access.authfile ? [`--${side}-authfile=${access.authfile}`] : []),
    ...(access.creds ? [`--${side}-creds=${access.creds}`] : []),
  ]
}

/** Copy an image between transports; blobs are moved as they are (no recompression), so digests stay. */
export async function skopeoCopy(source: string, destination: string, access: RegistryAccess = {}, options: RunOptions & {allPlatforms?: boolean} = {}): Promise<void> {
  // --all: an index goes as it is, every platform's image with it (without, skopeo copies the host's).
  const {allPlatforms, ...runOptions} = options
  await run('skopeo', ['copy', '--quiet', ...(allPlatforms ? ['--all'] : []), ...accessArgs('dest', access), source, destination], {label: `skopeo copy to ${destination}`, ...runOptions})
}

/** The raw manifest of an image (`skopeo inspect --raw`). */
export async function skopeoRawManifest(reference: string, access: RegistryAccess = {}, options: RunOptions = {}): Promise<string> {
  const tls = access.tlsVerify === undefined ? [] : [`--tls-verify=${access.tlsVerify}`]
  const auth = [...(access.authfile ? [`--authfile=${access.authfile}`] : []), ...(access.creds ? [`--creds=${access.creds}`] : [])]
  return (await run('skopeo', ['inspect', '--raw', ...tls, ...auth, reference], {label: `skopeo inspect ${reference}`, ...options})).stdout
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
