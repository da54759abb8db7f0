export {loadTreefile} from './load.js'
export {remoteKeyDirectory} from './remote.js'
export type {AddFile, PackageSpec, ResolvedTreefile, TreefileConfig} from './types.js'

import type {ResolvedTreefile} from './types.js'

/** The merged treefile as `--print` shows it (and as the input hash reads it). */
export function printableTreefile(resolved: ResolvedTreefile): Record<string, unknown> {
  return {...resolved.treefile, basearch: resolved.arch}
}

/** The one-line summary of `compose validate`. */
export function describeTreefile(name: string, resolved: ResolvedTreefile): string {
  return `${name}: valid: ref ${resolved.treefile.ref}, ${resolved.packages.length} packages, ${resolved.treefile.repos.length} repos, ${resolved.treefiles.length} treefile(s) merged`
}

import {AptOstreeError, ExitCode, formatLocation, type SourceLocation} from '../errors.js'
import {fileStart, locate, pointer, type Located} from './location.js'

/** Where a part of the treefile was written, e.g. originOf(resolved, 'units', 2). */
export function originOf(resolved: ResolvedTreefile, ...segments: Array<string | number>): Located {
  return locate(resolved.origins, pointer(...segments), fileStart(resolved.path))
}

/** A compose failure caused by a treefile value: located, exit 1. */
export function failureAt(origin: SourceLocation, message: string, details: string[] = []): AptOstreeError {
  return new AptOstreeError(`${formatLocation(origin)}: ${message}`, ExitCode.failed, details)
}

/** A treefile value that cannot work whatever the archive does (bad input): located, exit 2. */
export function usageErrorAt(origin: SourceLocation, message: string): AptOstreeError {
  return new AptOstreeError(`${formatLocation(origin)}: ${message}`, ExitCode.usage)
}
