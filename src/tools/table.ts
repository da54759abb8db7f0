import {isForeign, type Architecture, type BootModel} from '../arch.js'
import {AptOstreeError} from '../errors.js'

/**
 * The one table of what apt-ostree runs on the host: each program, the
 * Debian package that has it, how to ask its version and what needs it.
 * `doctor`, the "command not found" hints and the install line read it.
 */
export interface HostTool {
  command: string
  package: string
  versionArgs: string[]
  neededFor: string
  /** Only some commands or some setups need it; doctor does not fail without it. */
  optional?: boolean
}

/** A file the host must have (firmware), checked by path. */
export interface HostFile {
  path: string
  package: string
  neededFor: string
  optional?: boolean
}

const CORE_TOOLS: HostTool[] = [
  {command: 'mmdebstrap', package: 'mmdebstrap', versionArgs: ['--version'], neededFor: 'bootstrap'},
  {command: 'bwrap', package: 'bubblewrap', versionArgs: ['--version'], neededFor: 'sandbox'},
  {command: 'ostree', package: 'ostree', versionArgs: ['--version'], neededFor: 'commit'},
  {command: 'gpgv', package: 'gpgv', versionArgs: ['--version'], neededFor: 'checking InRelease signatures'},
  {command: 'xz', package: 'xz-utils', versionArgs: ['--version'], neededFor: 'reading Packages.xz indices'},
  {command: 'zstd', package: 'zstd', versionArgs: ['--version'], neededFor: 'OCI zstd layers'},
  {command: 'skopeo', package: 'skopeo', versionArgs: ['--version'], neededFor: 'containers-storage: and docker:// images'},
  {command: 'umoci', package: 'umoci', versionArgs: ['--version'], neededFor: 'vm boot and disk-image of an image'},
  {command: 'gpg', package: 'gpg', versionArgs: ['--version'], neededFor: '--gpg-sign', optional: true},
  {command: 'newuidmap', package: 'uidmap', versionArgs: ['--version'], neededFor: 'composing as an ordinary user', optional: true},
  {command: 'qemu-img', package: 'qemu-utils', versionArgs: ['--version'], neededFor: 'qcow2 disks'},
  {command: 'mkfs.ext4', package: 'e2fsprogs', versionArgs: ['-V'], neededFor: 'disk images'},
  {command: 'mkfs.vfat', package: 'dosfstools', versionArgs: ['--help'], neededFor: 'disk images'},
  {command: 'mcopy', package: 'mtools', versionArgs: ['--version'], neededFor: 'disk images'},
  {command: 'sfdisk', package: 'fdisk', versionArgs: ['--version'], neededFor: 'disk images'},
]

/** What booting machines of an architecture needs: its emulator and its UEFI firmware. */
function bootTools(arch: Architecture, boot: BootModel, native: boolean): {tools: HostTool[]; files: HostFile[]} {
  const purpose = `vm boot of ${arch.debian}`
  return {
    tools: [{command: boot.qemu, package: boot.qemuPackage, versionArgs: ['--version'], neededFor: purpose, optional: !native}],
    files: [{path: boot.firmwareCode, package: boot.firmwarePackage, neededFor: `UEFI ${purpose}`, optional: !native}],
  }
}

/**
 * What composing trees of another architecture needs: its qemu-user
 * emulator (registered with binfmt_misc by the package, see
 * sandbox/binfmt.ts), arch-test, which mmdebstrap runs to see that it works,
 * and patchelf and ldd, which make the host's programs run in the tree, for
 * dracut's scripts and copies and dpkg's reading of .debs
 * (sandbox/native-programs.ts).
 */
export function foreignTools(arch: Architecture): HostTool[] {
  const neededFor = `composing ${arch.debian} trees`
  return [
    {command: `${arch.qemuUser}-static`, package: 'qemu-user-static', versionArgs: ['--version'], neededFor, optional: true},
    {command: 'arch-test', package: 'arch-test', versionArgs: ['-n', arch.debian], neededFor, optional: true},
    {command: 'patchelf', package: 'patchelf', versionArgs: ['--version'], neededFor, optional: true},
    {command: 'ldd', package: 'libc-bin', versionArgs: ['--version'], neededFor, optional: true},
  ]
}

/** The tools and files for this host: everything native, and (optional) what the other bootable architectures need. */
export function hostRequirements(arches: Architecture[]): {tools: HostTool[]; files: HostFile[]} {
  const tools = [...CORE_TOOLS]
  const files: HostFile[] = []
  for (const arch of arches) {
    if (!arch.boot) continue
    const native = !isForeign(arch.debian)
    const needs = bootTools(arch, arch.boot, native)
    tools.push(...needs.tools, ...(native ? [] : foreignTools(arch)))
    files.push(...needs.files)
  }
  return {tools, files}
}

/** The package that has COMMAND, when the table knows it. */
export function packageOf(command: string): string | undefined {
  return CORE_TOOLS.find((tool) => tool.command === command)?.package
}

/** "COMMAND: command not found (apt-get install ...)", the one wording of a missing program. */
export function commandNotFound(command: string, pkg = packageOf(command)): AptOstreeError {
  return new AptOstreeError(`${command}: command not found${pkg ? ` (${installCommand([pkg])})` : ''}`)
}

/** The apt-get line that installs PACKAGES. */
export function installCommand(packages: string[]): string {
  return `apt-get install --no-install-recommends ${[...new Set(packages)].join(' ')}`
}
