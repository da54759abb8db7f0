import {mkdir, readdir, rename, rm, symlink} from 'node:fs/promises'
import path from 'node:path'
import {DPKG_DATABASE} from '../../ostree/layout.js'
import type {TreeStep} from '../step.js'


/**
 * The dpkg database moves into /usr, so it is part of the image and updated
 * with it; a tmpfiles.d link (written with /var's) keeps /var/lib/dpkg
 * working for dpkg and apt. apt's lists and caches are dropped.
 */
export const dpkgDatabase: TreeStep = {
  name: 'dpkg database to /usr',
  async run({root}) {
    const database = path.join(root, 'var/lib/dpkg')
    for (const lock of ['lock', 'lock-frontend', 'triggers/Lock']) await rm(path.join(database, lock), {force: true})
    for (const entry of await readdir(database)) if (entry.endsWith('-old')) await rm(path.join(database, entry), {force: true})
    await mkdir(path.join(root, 'usr/share/dpkg'), {recursive: true})
    await rename(database, path.join(root, DPKG_DATABASE))
    // Left in /var for the /var step to turn into its tmpfiles.d link.
    await symlink('../../usr/share/dpkg/database', database)
    for (const cache of ['var/lib/apt/lists', 'var/cache/apt']) {
      const directory = path.join(root, cache)
      for (const entry of await readdir(directory).catch(() => [] as string[])) {
        if (entry !== 'partial' && entry !== 'archives') await rm(path.join(directory, entry), {recursive: true, force: true})
      }
    }
  },
}
