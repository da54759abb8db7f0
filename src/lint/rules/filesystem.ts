import path from 'node:path'
import {descendantsOf, childrenOf, entryAt, resolvePath} from '../../file-tree.js'
import {fatal, problem, problemIf, warning} from '../rule.js'
import type {FileTree} from '../../file-tree.js'

// The API file systems systemd mounts, with /var added, as bootc has it.
const API_DIRECTORIES = ['/dev', '/proc', '/sys', '/run', '/tmp', '/var']

/**
 * Podman bind-mounts this file for DNS during a build and leaves its parent
 * directories behind (bootc#2050): not the image author's content.
 */
const CONTAINER_RUNTIME_FILE = '/run/systemd/resolve/stub-resolv.conf'

/** Every path below `directory`, a link to it followed, named under `directory`. */
function pathsBelow(tree: FileTree, directory: string): string[] {
  const physical = resolvePath(tree, directory)
  if (physical === undefined || tree.get(physical)?.type !== 'directory') return []
  return descendantsOf(tree, physical).map((key) => directory + key.slice(physical.length))
}

/** The regular files among `files` (a final link not followed) that are empty, or with `empty` false, that are not. */
function regularFiles(tree: FileTree, files: string[], {empty}: {empty: boolean}): string[] {
  return files.filter((file) => {
    const entry = entryAt(tree, file)
    return entry?.type === 'file' && (entry.size === 0) === empty
  })
}

export const varRun = fatal('var-run', 'Check for /var/run being a physical directory; this is always a bug.', async (tree) => {
  const entry = entryAt(tree, '/var/run')
  return entry && entry.type !== 'symlink' ? problem('Not a symlink: var/run') : []
})

export const buildahInjected = warning(
  'buildah-injected',
  'Check for an invalid /etc/hostname or /etc/resolv.conf that may have been injected by a container build system.',
  async (tree) => problemIf('Found empty files; these may have been synthesized by a container runtime', regularFiles(tree, ['/etc/hostname', '/etc/resolv.conf'], {empty: true})),
  // On the running root a runtime is expected to have injected them.
  {roots: ['rootfs', 'image']},
)

export const etcUsrEtc = fatal(
  'etc-usretc',
  'Verify that only one of /etc or /usr/etc exist. You should only have /etc in a container image. It will cause undefined behavior to have both /etc and /usr/etc.',
  async (tree) => {
    // For compatibility, a tree without /etc passes, as bootc has it.
    if (!entryAt(tree, '/etc') || !entryAt(tree, '/usr/etc')) return []
    return problem('Found /usr/etc - this is a bootc implementation detail and not supported to use in containers')
  },
)

export const utf8 = fatal(
  'utf8',
  'Check for non-UTF8 filenames. Currently, the ostree backend of bootc only supports UTF-8 filenames. Non-UTF8 filenames will cause a fatal error.',
  async (tree) => {
    const names: string[] = []
    const targets: string[] = []
    for (const [key, entry] of tree) {
      if (!entry.invalidUtf8) continue
      // The flag covers the name and the target; a readable name means the target is the bad one.
      const nameIsValid = !path.posix.basename(key).includes('\uFFFD')
      ;(entry.type === 'symlink' && nameIsValid ? targets : names).push(key)
    }
    return [...problemIf('Found non-UTF-8 filenames', names.sort()), ...problemIf('Found non-UTF-8 symlink targets', targets.sort())]
  },
)

export const apiBaseDirectories = fatal(
  'api-base-directories',
  'Verify that expected base API directories exist. Note that in addition, bootc requires that `/var` exist as a directory.',
  async (tree) => {
    const missing = API_DIRECTORIES.filter((directory) => !tree.has(directory))
    const notDirectories = API_DIRECTORIES.filter((directory) => tree.has(directory) && tree.get(directory)!.type !== 'directory')
    return [...problemIf('Missing API filesystem base directory', missing), ...problemIf('Expected directory for API filesystem base directory', notDirectories)]
  },
)

export const varLog = warning(
  'var-log',
  'Check for non-empty regular files in `/var/log`. It is often undesired to ship log files in container images. Log files in general are usually per-machine state in `/var`. Additionally, log files often include timestamps, causing unreproducible container images, and may contain sensitive build system information.',
  async (tree) => problemIf('Found non-empty logfiles', regularFiles(tree, pathsBelow(tree, '/var/log'), {empty: false})),
)

export const nonemptyBoot = warning(
  'nonempty-boot',
  'The `/boot` directory should be present, but empty. The kernel content should be in /usr/lib/modules instead in the container image. Any content here in the container image will be masked at runtime.',
  async (tree) => {
    const boot = resolvePath(tree, '/boot')
    if (boot === undefined) return problem('Missing /boot directory')
    if (tree.get(boot)?.type !== 'directory') return problem('/boot is not a directory')
    // EFI/ is where bootc's composefs backend puts its UKIs (composefs-rs#131).
    const content = childrenOf(tree, boot)
      .map((child) => `/boot/${path.posix.basename(child)}`)
      .filter((child) => child !== '/boot/EFI')
    return problemIf('Found non-empty /boot', content)
  },
)

export const nonemptyRunTmp = warning(
  'nonempty-run-tmp',
  'The `/run` and `/tmp` directories should be empty in container images. These directories are normally mounted as `tmpfs` at runtime (masking any content in the underlying image) and any content here is typically build-time artifacts that serve no purpose in the final image.',
  async (tree) => {
    const found = new Set(['/run', '/tmp'].filter((directory) => tree.get(directory)?.type === 'directory').flatMap((directory) => descendantsOf(tree, directory)))
    found.delete(CONTAINER_RUNTIME_FILE)
    for (let directory = path.posix.dirname(CONTAINER_RUNTIME_FILE); directory !== '/run'; directory = path.posix.dirname(directory)) {
      if ([...found].some((other) => other.startsWith(`${directory}/`))) break
      found.delete(directory)
    }
    return problemIf('Found content in runtime-only directories (/run, /tmp)', [...found].sort())
  },
)

export const debianOpt = warning(
  'debian-opt',
  'Check for files in /opt, where third-party Debian packages install. Under composefs the image\'s /opt is read-only, and it is replaced with the image\'s on every update, so what the software writes there fails or is lost. Move the files under /usr, or make /opt a link into /var (as apt-ostree composes it with `opt-usrlocal: var`); a link is fine.',
  async (tree) => {
    if (tree.get('/opt')?.type !== 'directory') return []
    const files = descendantsOf(tree, '/opt').filter((file) => tree.get(file)!.type !== 'directory')
    return problemIf('Found files in /opt, which is read-only under composefs', files)
  },
)

export const debianDpkgDatabase = warning(
  'debian-dpkg-database',
  'Check for the dpkg database left in /var/lib/dpkg. An image\'s /var is only copied at the first install, so after an update dpkg and apt would see the packages of the first image, not of the running one. Keep the database in /usr/share/dpkg/database with /var/lib/dpkg a link to it (a tmpfiles.d `L` line), as apt-ostree composes it.',
  async (tree) => {
    const database = resolvePath(tree, '/var/lib/dpkg', false)
    if (database === undefined || tree.get(database)?.type !== 'directory' || !tree.has(`${database}/status`)) return []
    return problemIf('Found the dpkg database in /var instead of a link to /usr/share/dpkg/database', ['/var/lib/dpkg/status'])
  },
)
