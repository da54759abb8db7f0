import {DPKG_DATABASE} from '../../ostree/layout.js'
import type {TreeStep} from '../step.js'


/**
 * The dpkg database moves into /usr, so it is part of the image and updated
 * with it; a tmpfiles.d link (written with /var's) keeps /var/lib/dpkg
 * working for dpkg and apt. apt's lists and caches are dropped.
 */
export const dpkgDatabase: TreeStep = {
  name: 'dpkg database to /usr',
  async run({tree}) {
    const database = '/var/lib/dpkg'
    for (const lock of ['lock', 'lock-frontend', 'triggers/Lock']) await tree.remove(`${database}/${lock}`)
    for (const entry of await tree.list(database)) if (entry.endsWith('-old')) await tree.remove(`${database}/${entry}`)
    await tree.rename(database, `/${DPKG_DATABASE}`)
    // Left in /var for the /var step to turn into its tmpfiles.d link.
    await tree.symlink(database, '../../usr/share/dpkg/database')
    for (const cache of ['/var/lib/apt/lists', '/var/cache/apt']) {
      for (const entry of await tree.list(cache)) {
        if (entry !== 'partial' && entry !== 'archives') await tree.remove(`${cache}/${entry}`)
      }
    }
  },
}
