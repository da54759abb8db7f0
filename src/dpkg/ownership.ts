import path from 'node:path'

/** What dpkg's database says about file ownership: info/*.list and diversions. */
export interface DpkgDatabaseFiles {
  /** Package name ("bash", or "libc6:amd64" for Multi-Arch: same) → the paths its .list holds. */
  lists: Map<string, string[]>
  /** The diversions file's text. */
  diversions: string
}

/**
 * Paths as dpkg recorded them → paths in the commit. The commit moved some:
 * /etc lives in /usr/etc, the kernel image left /boot for
 * /usr/lib/modules/$kver/vmlinuz, and merged-/usr aliases (/bin, /lib, ...)
 * are symlinks into /usr.
 */
export type CommitPathOf = (dpkgPath: string) => string

export function commitPathMapper(toplevelLinks: Map<string, string>): CommitPathOf {
  return (dpkgPath) => {
    const kernel = /^\/boot\/vmlinuz-(.+)$/.exec(dpkgPath)
    if (kernel) return `/usr/lib/modules/${kernel[1]}/vmlinuz`
    if (dpkgPath === '/etc' || dpkgPath.startsWith('/etc/')) return '/usr' + dpkgPath
    const [, top, rest] = /^\/([^/]+)(.*)$/.exec(dpkgPath) ?? []
    const target = top ? toplevelLinks.get(top) : undefined
    // Only aliases into /usr: /home -> var/home and the like are not where packages put files.
    if (target?.startsWith('usr/')) return path.posix.join('/', target, rest)
    return dpkgPath
  }
}

/**
 * The owning package of every path dpkg knows, in commit paths. Diversions
 * are honoured: the file at the original path belongs to the diverting
 * package, the file at the diverted-to path to the package that shipped
 * the original. A path several packages share (directories, mostly) goes
 * to the first by name, so the answer never depends on read order.
 */
export function fileOwners(database: DpkgDatabaseFiles, commitPath: CommitPathOf): Map<string, string> {
  // Paths are compared as the commit has them: /bin/ls and /usr/bin/ls are one file on merged /usr.
  const owners = new Map<string, string[]>()
  for (const [pkg, paths] of database.lists) {
    for (const listed of paths) {
      if (!listed.startsWith('/') || listed === '/.') continue
      const mapped = commitPath(listed)
      const list = owners.get(mapped)
      if (!list) owners.set(mapped, [pkg])
      else if (!list.includes(pkg)) list.push(pkg)
    }
  }
  const lines = database.diversions.split('\n')
  for (let index = 0; index + 2 < lines.length; index += 3) {
    const [from, to, diverter] = [commitPath(lines[index]), commitPath(lines[index + 1]), lines[index + 2]]
    const shipped = (owners.get(from) ?? []).filter((pkg) => packageName(pkg) !== diverter)
    if (shipped.length > 0) owners.set(to, shipped)
    if (diverter === ':') owners.delete(from)
    else owners.set(from, (owners.get(from) ?? []).filter((pkg) => packageName(pkg) === diverter))
  }
  const result = new Map<string, string>()
  for (const [mapped, pkgs] of owners) if (pkgs.length > 0) result.set(mapped, [...pkgs].sort()[0])
  return result
}

/** "libc6:amd64" → "libc6". */
export function packageName(pkg: string): string {
  return pkg.split(':')[0]
}

/** The .list file name → package ("libc6:amd64.list" → "libc6:amd64"). */
export function packageOfListFile(file: string): string | undefined {
  return file.endsWith('.list') ? file.slice(0, -'.list'.length) : undefined
}
