import {parseTmpfilesLine} from '../../system-files.js'
import type {TreeFs} from '../../sandbox/tree-fs.js'
import type {TreeStep} from '../step.js'
import {tmpfilesDirectory} from './tmpfiles.js'

/** Top-level directories that hold machine state, as links into /var (or /run). */
const STATE_LINKS: Array<[string, string]> = [
  ['home', 'var/home'],
  ['root', 'var/roothome'],
  ['srv', 'var/srv'],
  ['mnt', 'var/mnt'],
  ['media', 'run/media'],
]
const API_DIRECTORIES = ['dev', 'proc', 'sys', 'run', 'boot', 'var', 'sysroot']

/**
 * The OSTree top level: /sysroot and the /ostree link, state directories
 * linked into /var with tmpfiles.d lines creating their targets, /run
 * emptied, /tmp,
 * /opt and /usr/local per `tmp-is-dir` and `opt-usrlocal`.
 */
export const topLevel: TreeStep = {
  name: 'top-level layout',
  async run({tree, resolved}) {
    const {treefile} = resolved
    const lines = [
      tmpfilesDirectory('/var/home', 0o755, 'root', 'root'),
      tmpfilesDirectory('/var/roothome', 0o700, 'root', 'root'),
      tmpfilesDirectory('/var/srv', 0o755, 'root', 'root'),
      tmpfilesDirectory('/var/mnt', 0o755, 'root', 'root'),
      tmpfilesDirectory('/run/media', 0o755, 'root', 'root'),
    ]
    const links = [...STATE_LINKS]
    if (treefile['opt-usrlocal'] === 'var') {
      links.push(['opt', 'var/opt'], ['usr/local', '../var/usrlocal'])
      lines.push(tmpfilesDirectory('/var/opt', 0o755, 'root', 'root'), tmpfilesDirectory('/var/usrlocal', 0o755, 'root', 'root'))
      // Keep the usual /usr/local skeleton on the machine.
      for (const sub of await tree.list('/usr/local')) {
        lines.push(tmpfilesDirectory(`/var/usrlocal/${sub}`, 0o755, 'root', 'root'))
      }
    } else {
      for (const directory of ['/opt', '/usr/local']) await tree.mkdir(directory)
    }
    for (const [link, target] of links) await tree.symlink(`/${link}`, target)
    for (const directory of API_DIRECTORIES) {
      // A link here (a script's) would make the directory somewhere else.
      if ((await tree.lstat(`/${directory}`))?.isSymbolicLink()) await tree.remove(`/${directory}`)
      await tree.mkdir(`/${directory}`)
    }
    // /run is a tmpfs at boot and podman's at run time: what packages left there (/run/lock) is tmpfiles.d's to create.
    for (const entry of await tree.list('/run')) await tree.remove(`/run/${entry}`)
    await tree.symlink('/ostree', 'sysroot/ostree')
    await tree.remove('/tmp')
    if (treefile['tmp-is-dir']) {
      await tree.mkdir('/tmp')
      await tree.chmod('/tmp', 0o1777)
    } else {
      await tree.symlink('/tmp', 'sysroot/tmp')
    }
    await retireLinkLines(tree, links.map(([link]) => `/${link}`))
    await tree.write('/usr/lib/tmpfiles.d/apt-ostree-integration.conf', `# Written by apt-ostree: targets of the top-level links.\n${lines.join('\n')}\n`)
  },
}

/**
 * Packages' tmpfiles.d lines for a path that is now one of the top-level
 * links (systemd's `Q /home`, `d- /root`), commented out: systemd-tmpfiles
 * does not follow the link and fails at every boot with "already exists and
 * is not a directory". apt-ostree-integration.conf makes the link's target.
 * Lines for paths below a link stay: the link is followed there.
 */
async function retireLinkLines(tree: TreeFs, links: string[]): Promise<void> {
  const directory = '/usr/lib/tmpfiles.d'
  for (const entry of (await tree.list(directory)).filter((name) => name.endsWith('.conf'))) {
    const file = `${directory}/${entry}`
    const text = (await tree.readText(file)) ?? ''
    let retired = 0
    const lines = text.split('\n').map((line) => {
      const parsed = parseTmpfilesLine(line)
      if (parsed?.path === undefined || !links.includes(parsed.path.replace(/\/+$/, ''))) return line
      retired++
      return `# apt-ostree: ${parsed.path} links into /var (apt-ostree-integration.conf makes its target): ${line}`
    })
    if (retired === 0) continue
    const mode = (await tree.lstat(file))!.mode & 0o7777
    await tree.remove(file)
    await tree.write(file, lines.join('\n'), mode)
  }
}
