import {readlink} from 'node:fs/promises'
import path from 'node:path'
import {accountNames} from '../accounts.js'
import {walkTree} from '../../fs.js'
import type {TreeStep} from '../step.js'
import {declaredTmpfilesPaths, tmpfilesDirectory, tmpfilesLink, tmpfilesPath} from './tmpfiles.js'

export const AUTOVAR_CONF = 'apt-ostree-autovar.conf'

/** /var state that means nothing in an image and would become dead tmpfiles lines. */
const SKIPPED = ['var/lib/systemd/deb-systemd-helper-enabled', 'var/lib/systemd/deb-systemd-user-helper-enabled', 'var/cache', 'var/log', 'var/lib/apt/lists/partial']

/**
 * Directories apt and the journal expect, with fixed owners: apt chowns its
 * partial dirs to _apt only when it downloads, so what the tree holds depends
 * on the .deb cache and would make builds differ.
 */
const FIXED: Array<[string, number, string]> = [
  ['/var/cache', 0o755, 'root'],
  ['/var/cache/apt', 0o755, 'root'],
  ['/var/cache/apt/archives', 0o755, 'root'],
  ['/var/cache/apt/archives/partial', 0o700, '_apt'],
  ['/var/lib/apt/lists/partial', 0o700, '_apt'],
  ['/var/log', 0o755, 'root'],
]

/**
 * /var belongs to the machine, not the image (ostree applies an image's /var
 * only at first install): every directory and link in it becomes a
 * tmpfiles.d line, then /var is emptied. Regular files cannot be expressed
 * that way and are dropped, with a warning.
 */
/** The first few of NAMES, JSON-quoted: they are a package's, anything may be in them. */
function listed(names: string[]): string {
  return `${names.slice(0, 8).map((name) => JSON.stringify(name)).join(', ')}${names.length > 8 ? ', ...' : ''}`
}

export const varToTmpfiles: TreeStep = {
  name: '/var to tmpfiles.d',
  async run(context) {
    const {root, tree} = context
    const names = await accountNames(tree)
    const declared = await declaredTmpfilesPaths(tree, [AUTOVAR_CONF])
    const lines: string[] = []
    const dropped: string[] = []
    const unnamed: string[] = []
    // A /var that is a link (a script's) holds nothing of the image's; the walk below never leaves the tree.
    const walk = (await tree.lstat('/var'))?.isDirectory() ? walkTree(root, 'var') : []
    for await (const entry of walk) {
      const target = '/' + entry.relative
      // Caches, logs and helper state are expected to go: no warning for them.
      if (SKIPPED.some((skip) => entry.relative === skip || entry.relative.startsWith(skip + '/'))) continue
      if ((entry.stats.isDirectory() || entry.stats.isSymbolicLink()) && tmpfilesPath(target) === undefined) {
        unnamed.push(target)
      } else if (entry.stats.isDirectory()) {
        if (!declared.has(target)) lines.push(tmpfilesDirectory(target, entry.stats.mode, names.user(entry.stats.uid), names.group(entry.stats.gid)))
      } else if (entry.stats.isSymbolicLink()) {
        let destination = await readlink(entry.absolute)
        // Absolute links inside /var are written relative, so they resolve in any root.
        if (destination.startsWith('/')) destination = path.posix.relative(path.posix.dirname(target), destination)
        if (!declared.has(target)) lines.push(tmpfilesLink(target, destination))
      } else {
        dropped.push(target)
      }
    }
    for (const [directory, mode, owner] of FIXED) {
      if (!declared.has(directory)) lines.push(tmpfilesDirectory(directory, mode, owner, 'root'))
    }
    await tree.write(`/usr/lib/tmpfiles.d/${AUTOVAR_CONF}`, `# Written by apt-ostree from the image's /var.\n${lines.join('\n')}\n`)
    if (dropped.length > 0) context.warn(`dropped ${dropped.length} file(s) from /var (state belongs to tmpfiles.d or the first boot): ${listed(dropped)}`)
    if (unnamed.length > 0) context.warn(`dropped ${unnamed.length} entr${unnamed.length === 1 ? 'y' : 'ies'} from /var whose names tmpfiles.d cannot hold (control characters, quotes, backslashes): ${listed(unnamed)}`)
    await tree.remove('/var')
    await tree.mkdir('/var')
  },
}
