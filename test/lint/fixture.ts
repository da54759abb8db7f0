import {chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** Write FILE (parents made) under the root. */
export function put(root: string, file: string, content: string | Buffer = ''): void {
  mkdirSync(path.dirname(path.join(root, file)), {recursive: true})
  writeFileSync(path.join(root, file), content)
}

/** Make DIRECTORY (parents made) with exactly MODE, whatever the umask. */
export function directory(root: string, name: string, mode = 0o755): void {
  mkdirSync(path.join(root, name), {recursive: true})
  chmodSync(path.join(root, name), mode)
}

export function link(root: string, target: string, name: string): void {
  mkdirSync(path.dirname(path.join(root, name)), {recursive: true})
  symlinkSync(target, path.join(root, name))
}

/**
 * A rootfs that passes every rule, after bootc's passing_fixture: the API
 * directories, /boot and /sysroot, the /ostree link, one kernel, composefs
 * on, /var/run a link with its tmpfiles.d line, and root as the only
 * account, declared in sysusers.d.
 */
export function writePassingFixture(root: string): void {
  for (const name of ['dev', 'proc', 'sys', 'run', 'var', 'boot', 'sysroot', 'etc', 'usr']) directory(root, name)
  directory(root, 'tmp', 0o1777)
  link(root, 'sysroot/ostree', 'ostree')
  link(root, '../run', 'var/run')
  put(root, 'usr/lib/modules/6.12.0/vmlinuz', 'vmlinuz')
  put(root, 'usr/lib/ostree/prepare-root.conf', '[composefs]\nenabled = true\n')
  put(root, 'usr/lib/tmpfiles.d/var.conf', '# systemd: the legacy link\nL /var/run - - - - ../run\n')
  put(root, 'usr/lib/sysusers.d/basic.conf', 'u root 0 "Super User" /root\n')
  put(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n')
  put(root, 'etc/group', 'root:x:0:\n')
}

/** A fresh passing fixture in a temporary directory. */
export function passingFixture(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-lint-'))
  writePassingFixture(root)
  return root
}

/** The owner and group names the fixture's /etc/passwd and /etc/group give what this process creates. */
export const OWNER = process.getuid?.() === 0 ? 'root' : String(process.getuid?.())
export const GROUP = process.getgid?.() === 0 ? 'root' : String(process.getgid?.())
