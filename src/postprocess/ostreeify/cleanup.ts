import {chmod, lstat, mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../../errors.js'
import {walkTree} from '../../fs.js'
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
  async run({root, resolved}) {
    const directory = path.join(root, 'usr/share/apt-ostree')
    await mkdir(directory, {recursive: true})
    await writeFile(path.join(directory, 'treefile.json'), JSON.stringify(printableTreefile(resolved), null, 2) + '\n', {mode: 0o644})
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
  async run({root, resolved}) {
    const etc = path.join(root, 'etc')
    for (const name of ETC_LEFTOVERS) await rm(path.join(etc, name), {force: true})
    for (const name of HOST_COPIES) {
      if (await isHostCopy(path.join(etc, name), path.join('/etc', name))) await rm(path.join(etc, name), {force: true})
    }
    await rm(path.join(etc, 'machine-id'), {force: true})
    if (resolved.treefile['machineid-compat']) await writeFile(path.join(etc, 'machine-id'), '', {mode: 0o444})
    await rm(path.join(root, 'var/lib/dbus/machine-id'), {force: true})
    await rename(etc, path.join(root, 'usr/etc'))
  },
}

/** A regular file that is empty or the same as the host's (a link, such as resolved's stub, is the image's own). */
async function isHostCopy(file: string, hostFile: string): Promise<boolean> {
  const info = await lstat(file).catch(() => undefined)
  if (!info?.isFile()) return false
  if (info.size === 0) return true
  const [mine, host] = await Promise.all([readFile(file).catch(() => undefined), readFile(hostFile).catch(() => undefined)])
  return mine !== undefined && host !== undefined && mine.equals(host)
}
