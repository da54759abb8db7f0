import {remoteKeyDirectory} from '../../treefile/index.js'
import type {TreeStep} from '../step.js'

/**
 * `remote`: /etc/ostree/remotes.d/NAME.conf, where the machine's ostree
 * looks for the remote its deployment's origin names. Verification is on
 * for commits and the summary when the treefile gives keys (the add-files
 * step put them under remoteKeyDirectory), off otherwise. The schema keeps
 * the name and URL to characters a key file takes as they are.
 */
export const remoteConfig: TreeStep = {
  name: 'remote',
  async run({tree, resolved}) {
    const remote = resolved.treefile.remote
    if (!remote) return
    const keys = resolved.addFiles.filter((file) => file.destination.startsWith(`${remoteKeyDirectory(remote.name)}/`)).map((file) => file.destination)
    const verify = keys.length > 0
    const lines = [
      '# Written by apt-ostree from the treefile\'s "remote".',
      `[remote "${remote.name}"]`,
      `url=${remote.url}`,
      `gpg-verify=${verify}`,
      `gpg-verify-summary=${verify}`,
      ...(verify ? [`gpgkeypath=${keys.join(';')}`] : []),
      '',
    ]
    const file = `/etc/ostree/remotes.d/${remote.name}.conf`
    await tree.mkdir('/etc/ostree/remotes.d')
    // The treefile's remote wins over one a package shipped under the same name.
    await tree.remove(file)
    await tree.write(file, lines.join('\n'))
  },
}
