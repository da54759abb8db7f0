import {AptOstreeError} from '../errors.js'
import type {TreeFs} from '../sandbox/tree-fs.js'

// Where an OSTree tree keeps what a Debian tree keeps elsewhere: the compose
// moves things here, the image writer and the boot check read them here.

/** The dpkg database, moved from /var/lib/dpkg into the image. */
export const DPKG_DATABASE = 'usr/share/dpkg/database'
/** The merged treefile in the tree, as rpm-ostree keeps its treefile.json. */
export const TREEFILE_JSON = '/usr/share/apt-ostree/treefile.json'

/** The one kernel version in usr/lib/modules (bootc's lint allows exactly one). */
export async function findKernelVersion(tree: TreeFs): Promise<string> {
  const withKernel: string[] = []
  for (const version of await tree.list('/usr/lib/modules')) {
    if ((await tree.exists(`/boot/vmlinuz-${version}`)) || (await tree.exists(`/usr/lib/modules/${version}/vmlinuz`))) withKernel.push(version)
  }
  if (withKernel.length === 0) throw new AptOstreeError('no kernel in the tree: no usr/lib/modules/$kver with a vmlinuz (add a linux-image package, or set "container: true")')
  if (withKernel.length > 1) throw new AptOstreeError(`more than one kernel in the tree (${withKernel.join(', ')}): an OSTree tree boots exactly one`)
  return withKernel[0]
}
