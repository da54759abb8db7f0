import {quoted} from '../text.js'

/**
 * The names repo metadata and treefiles give that become paths and URLs:
 * suites and components (dists/SUITE/COMPONENT/...), a .deb's pool path
 * (a Packages index's Filename), store digests (CACHEDIR/archive/sha256/X).
 * Each is checked here, as data, before any use: one that passes stays
 * below the directory or URL it is joined to.
 */

/** One part of a suite or component: the schema's patterns for `suites` and `components` are these parts joined by "/". */
const ARCHIVE_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
/** One part of a Filename: the characters Debian's pool paths use (libstdc++6_14.2.0-19_amd64.deb, an epoch's ":" or "%3a"). */
const POOL_PART = /^[A-Za-z0-9.+~_%:-]+$/

/** Whether VALUE is a relative POSIX path of parts that PART matches, none empty, "." or "..". */
function isRelativePath(value: string, part: RegExp): boolean {
  return value.split('/').every((each) => each !== '.' && each !== '..' && part.test(each))
}

const RULES = {
  suite: {field: 'suite', valid: (value: string) => isRelativePath(value, ARCHIVE_PART), says: 'is not a suite name (letters, digits, . _ - in /-separated parts)'},
  component: {field: 'component', valid: (value: string) => isRelativePath(value, ARCHIVE_PART), says: 'is not a component name (letters, digits, . _ - in /-separated parts)'},
  filename: {field: 'Filename', valid: (value: string) => isRelativePath(value, POOL_PART), says: 'is not a path below the archive'},
  sha256: {field: 'SHA256', valid: (value: string) => /^[0-9a-f]{64}$/.test(value), says: 'is not a SHA256 digest (64 lowercase hex digits)'},
  // At most 15 digits: a safe integer, and no .deb is a petabyte.
  size: {field: 'Size', valid: (value: string) => /^[0-9]{1,15}$/.test(value), says: 'is not a size in bytes'},
} as const

export type NameKind = keyof typeof RULES

/** Why VALUE cannot be a KIND, as a message names it (`Filename "../x" is not a path below the archive`); undefined when it can. */
export function nameProblem(kind: NameKind, value: string): string | undefined {
  const rule = RULES[kind]
  return rule.valid(value) ? undefined : `${rule.field} ${quoted(value)} ${rule.says}`
}
