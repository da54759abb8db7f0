import {chmod, readFile, rm} from 'node:fs/promises'
import {AptOstreeError} from '../../errors.js'
import type {TreeFs} from '../../sandbox/tree-fs.js'
import {walkTree} from '../../fs.js'
import {TREEFILE_JSON} from '../../ostree/layout.js'
import {printableTreefile} from '../../treefile/index.js'
import type {TreeStep} from '../step.js'

/** Device nodes, sockets and fifos cannot be committed: dropped (`ignore-devices`) or an error. */
export const specialFiles: TreeStep = {
  name: 'drop device nodes',
  async run({root, resolved}) {
    const found: string[] = []
    for await (const entry of walkTree(root)) {
      const {stats} = entry
      if (!(stats.isCharacterDevice() || stats.isBlockDevice() || stats.isSocket() || stats.isFIFO())) continue
      const isDevice = stats.isCharacterDevice() || stats.isBlockDevice()
      if (isDevice && !resolved.treefile['ignore-devices']) found.push('/' + entry.relative)
      else await rm(entry.absolute, {force: true})
    }
    if (found.length > 0) throw new AptOstreeError(`device nodes in the tree and "ignore-devices: false": ${found.join(', ')}`)
  },
}

/** `readonly-executables`: no write bits on executable files. */
export const readonlyExecutables: TreeStep = {
  name: 'read-only executables',
  async run({root, resolved}) {
    if (!resolved.treefile['readonly-executables']) return
    for await (const entry of walkTree(root)) {
      const mode = entry.stats.mode & 0o7777
      if (entry.stats.isFile() && mode & 0o111 && mode & 0o222) await chmod(entry.absolute, mode & ~0o222)
    }
  },
}

/** The merged treefile inside the tree, as rpm-ostree writes its treefile.json. */
export const treefileJson: TreeStep = {
  name: 'treefile.json',
  async run({tree, resolved}) {
    await tree.write(TREEFILE_JSON, JSON.stringify(printableTreefile(resolved), null, 2) + '\n')
  },
}

/** Lock and backup files of the account databases (rpm-ostree removes the same). */
const ETC_LEFTOVERS = ['.pwd.lock', 'passwd-', 'group-', 'shadow-', 'gshadow-', 'subuid-', 'subgid-']
/** Files mmdebstrap copies from the host for the bootstrap: the image must not carry the host's. */
const HOST_COPIES = ['resolv.conf', 'hostname']

/**
 * /etc becomes /usr/etc, the default config ostree 3-way merges on upgrade;
 * machine-id is empty (`machineid-compat`) or absent, so each machine gets
 * its own.
 */
export const etcToUsrEtc: TreeStep = {
  name: '/etc to /usr/etc',
  async run({tree, resolved}) {
    for (const name of ETC_LEFTOVERS) await tree.remove(`/etc/${name}`)
    for (const name of HOST_COPIES) {
      if (await isHostCopy(tree, `/etc/${name}`)) await tree.remove(`/etc/${name}`)
    }
    await tree.remove('/etc/machine-id')
    if (resolved.treefile['machineid-compat']) await tree.write('/etc/machine-id', '', 0o444)
    await tree.remove('/var/lib/dbus/machine-id')
    await tree.rename('/etc', '/usr/etc')
  },
}

/** A regular file that is empty or the same as the host's at the same path (a link, such as resolved's stub, is the image's own). */
async function isHostCopy(tree: TreeFs, file: string): Promise<boolean> {
  const info = await tree.lstat(file)
  if (!info?.isFile()) return false
  if (info.size === 0) return true
  const [mine, host] = await Promise.all([tree.read(file), readFile(file).catch(() => undefined)])
  return host !== undefined && mine.equals(host)
}
