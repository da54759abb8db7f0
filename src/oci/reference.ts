import path from 'node:path'
import {UsageError} from '../errors.js'

/**
 * Where an image is read from or written to, as skopeo names it
 * (containers-transports(5)). oci and oci-archive are written directly;
 * containers-storage and docker go through skopeo.
 */
export type ImageReference =
  | {transport: 'oci'; path: string; tag: string}
  | {transport: 'oci-archive'; path: string; tag: string}
  | {transport: 'containers-storage'; name: string}
  | {transport: 'docker'; name: string}

export const TRANSPORTS = ['oci', 'oci-archive', 'containers-storage', 'docker'] as const

const TAG = /^[\w][\w.-]{0,127}$/

/** Split `PATH[:TAG]`; a colon followed by a slash belongs to the path. */
function pathAndTag(rest: string, text: string): {path: string; tag: string} {
  const colon = rest.lastIndexOf(':')
  const [file, tag] = colon > 0 && !rest.slice(colon + 1).includes('/') ? [rest.slice(0, colon), rest.slice(colon + 1)] : [rest, 'latest']
  if (!file) throw new UsageError(`${text}: the image reference has no path`)
  if (!TAG.test(tag)) throw new UsageError(`${text}: "${tag}" is not a valid tag (letters, digits, '_', '.', '-'; at most 128)`)
  return {path: path.resolve(file), tag}
}

/** Parse `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, `containers-storage:NAME[:TAG]`, `docker://REGISTRY/NAME[:TAG]`. */
export function parseImageReference(text: string): ImageReference {
  const docker = /^docker:\/\/(.+)$/.exec(text)
  if (docker) return {transport: 'docker', name: docker[1]}
  const colon = text.indexOf(':')
  const transport = colon > 0 ? text.slice(0, colon) : ''
  const rest = text.slice(colon + 1)
  switch (transport) {
    case 'oci':
      return {transport, ...pathAndTag(rest, text)}
    case 'oci-archive':
      return {transport, ...pathAndTag(rest, text)}
    case 'containers-storage':
      if (!rest) throw new UsageError(`${text}: the image reference has no name`)
      return {transport, name: rest}
    default:
      throw new UsageError(
        `${text}: unknown image transport${transport ? ` "${transport}"` : ''}; use oci:DIR[:TAG], oci-archive:FILE[:TAG], containers-storage:NAME[:TAG] or docker://REGISTRY/NAME[:TAG]`,
      )
  }
}

/** The reference as skopeo takes it. */
export function formatImageReference(reference: ImageReference): string {
  switch (reference.transport) {
    case 'oci':
    case 'oci-archive':
      return `${reference.transport}:${reference.path}:${reference.tag}`
    case 'containers-storage':
      return `containers-storage:${reference.name}`
    case 'docker':
      return `docker://${reference.name}`
  }
}
