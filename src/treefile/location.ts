import path from 'node:path'
import type {SourceLocation} from '../errors.js'

/** A source location that also knows the absolute path of its file. */
export interface Located extends SourceLocation {
  /** Absolute path of the file, for resolving paths relative to it. */
  path: string
}

/** Where a value was written: its key (for map entries) and the value itself. */
export interface ValueOrigin {
  key?: Located
  value: Located
}

/** JSON-pointer-keyed origins of every value of a (merged) treefile. */
export type Origins = Map<string, ValueOrigin>

/** The path as the user would type it: relative to the working directory. */
export function displayPath(absolute: string): string {
  const relative = path.relative(process.cwd(), absolute)
  return relative === '' ? '.' : relative
}

export function fileStart(absolute: string): Located {
  return {file: displayPath(absolute), path: absolute, line: 1, col: 1}
}

export function pointer(...segments: Array<string | number>): string {
  return segments.map((segment) => '/' + String(segment).replaceAll('~', '~0').replaceAll('/', '~1')).join('')
}

export function pointerSegments(ptr: string): string[] {
  return ptr === '' ? [] : ptr.slice(1).split('/').map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
}

/** A user-facing name for a pointer: `repos[0].uris`. */
export function keyPath(ptr: string): string {
  return pointerSegments(ptr).reduce(
    (name, segment) => (/^\d+$/.test(segment) ? `${name}[${segment}]` : name ? `${name}.${segment}` : segment),
    '',
  )
}

/**
 * The best location for a pointer: its own value, else the nearest ancestor
 * that has an origin (a value created by a default has none).
 */
export function locate(origins: Origins, ptr: string, fallback: Located, part: 'key' | 'value' = 'value'): Located {
  for (let current = ptr; ; current = current.slice(0, current.lastIndexOf('/'))) {
    const origin = origins.get(current)
    if (origin) return (part === 'key' && origin.key) || origin.value
    if (current === '') return fallback
  }
}
