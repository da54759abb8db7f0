import type {ValueOrigin} from './location.js'
import type {ResolvedTreefile} from './types.js'

/** A resolved treefile as JSON (to hand to the worker): its origins map as entries. */
export type SerializedTreefile = Omit<ResolvedTreefile, 'origins'> & {origins: Array<[string, ValueOrigin]>}

export function serializeTreefile(resolved: ResolvedTreefile): SerializedTreefile {
  return {...resolved, origins: [...resolved.origins]}
}

export function deserializeTreefile(serialized: SerializedTreefile): ResolvedTreefile {
  return {...serialized, origins: new Map(serialized.origins)}
}
