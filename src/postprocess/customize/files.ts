import {readdir, readFile, rm, stat} from 'node:fs/promises'
import path from 'node:path'
import {copyIntoTree, hostPathInTree} from '../../sandbox/rootfs-path.js'
import type {TreeStep} from '../step.js'
import {failureAt, originOf} from '../../treefile/index.js'

/** `remove-files`: paths relative to the root, removed recursively. */
export const removeFiles: TreeStep = {
  name: 'remove-files',
  async run(context) {
    for (const file of context.resolved.treefile['remove-files'] ?? []) {
      const target = await hostPathInTree(context.root, '/' + file)
      context.progress(`remove ${file}`)
      await rm(target, {recursive: true, force: true})
    }
  },
}

/** Every file each package owns, from dpkg's *.list files. */
async function packageFiles(root: string): Promise<Map<string, string[]>> {
  const info = path.join(root, 'var/lib/dpkg/info')
  const owners = new Map<string, string[]>()
  for (const entry of await readdir(info)) {
    if (!entry.endsWith('.list')) continue
    const name = entry.slice(0, -'.list'.length).replace(/:.*$/, '')
    const files = (await readFile(path.join(info, entry), 'utf8')).split('\n').filter(Boolean)
    owners.set(name, [...(owners.get(name) ?? []), ...files])
  }
  return owners
}

/**
 * `remove-from-packages`: files of a package matching a regex. Files another
 * package also owns stay; the dpkg database is not changed (as rpm-ostree).
 */
export const removeFromPackages: TreeStep = {
  name: 'remove-from-packages',
  async run(context) {
    const rules = context.resolved.treefile['remove-from-packages'] ?? []
    if (rules.length === 0) return
    const owners = await packageFiles(context.root)
    for (const [index, [pkg, ...patterns]] of rules.entries()) {
      const files = owners.get(pkg)
      const origin = originOf(context.resolved, 'remove-from-packages', index, 0)
      if (!files) throw failureAt(origin, `remove-from-packages: package "${pkg}" is not installed`)
      const shared = new Set([...owners].filter(([name]) => name !== pkg).flatMap(([, list]) => list))
      const regexes = patterns.map((pattern) => new RegExp(pattern))
      let removed = 0
      for (const file of files) {
        if (shared.has(file) || !regexes.some((regex) => regex.test(file))) continue
        const target = await hostPathInTree(context.root, file)
        const info = await stat(target).catch(() => undefined)
        if (!info || info.isDirectory()) continue
        await rm(target, {force: true})
        removed++
      }
      context.progress(`removed ${removed} file(s) of ${pkg}`)
    }
  },
}

/** `add-files`: host files copied in with their mode; /etc lands in /etc (moved to /usr/etc later). */
export const addFiles: TreeStep = {
  name: 'add-files',
  async run(context) {
    for (const file of context.resolved.addFiles) {
      const mode = (await stat(file.source)).mode & 0o7777
      context.progress(`add ${file.destination}`)
      await copyIntoTree(context.root, file.source, file.destination, mode)
    }
  },
}
