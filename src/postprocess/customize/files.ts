import {stat} from 'node:fs/promises'
import type {TreeFs} from '../../sandbox/tree-fs.js'
import type {TreeStep} from '../step.js'
import {failureAt, originOf} from '../../treefile/index.js'

/** `remove-files`: paths relative to the root, removed recursively. */
export const removeFiles: TreeStep = {
  name: 'remove-files',
  async run(context) {
    for (const file of context.resolved.treefile['remove-files'] ?? []) {
      context.progress(`remove ${file}`)
      await context.tree.remove('/' + file)
    }
  },
}

/** Every file each package owns, from dpkg's *.list files. */
async function packageFiles(tree: TreeFs): Promise<Map<string, string[]>> {
  const info = '/var/lib/dpkg/info'
  const owners = new Map<string, string[]>()
  for (const entry of await tree.list(info)) {
    if (!entry.endsWith('.list')) continue
    const name = entry.slice(0, -'.list'.length).replace(/:.*$/, '')
    const files = ((await tree.readText(`${info}/${entry}`)) ?? '').split('\n').filter(Boolean)
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
    const owners = await packageFiles(context.tree)
    for (const [index, [pkg, ...patterns]] of rules.entries()) {
      const files = owners.get(pkg)
      const origin = originOf(context.resolved, 'remove-from-packages', index, 0)
      if (!files) throw failureAt(origin, `remove-from-packages: package "${pkg}" is not installed`)
      const shared = new Set([...owners].filter(([name]) => name !== pkg).flatMap(([, list]) => list))
      const regexes = patterns.map((pattern) => new RegExp(pattern))
      let removed = 0
      for (const file of files) {
        if (shared.has(file) || !regexes.some((regex) => regex.test(file))) continue
        const info = await context.tree.lstat(file)
        if (!info || info.isDirectory()) continue
        await context.tree.remove(file)
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
      await context.tree.copyIn(file.source, file.destination, mode)
    }
  },
}
