import {pathExists} from '../fs.js'
import {execa} from 'execa'

/** A tool the pipeline runs on the host, how to ask its version, and who needs it. */
export interface HostTool {
  command: string
  package: string
  versionArgs: string[]
  neededFor: string
  /** Optional tools only matter for some commands. */
  optional?: boolean
}

export const HOST_TOOLS: HostTool[] = [
  {command: 'mmdebstrap', package: 'mmdebstrap', versionArgs: ['--version'], neededFor: 'bootstrap'},
  {command: 'bwrap', package: 'bubblewrap', versionArgs: ['--version'], neededFor: 'sandbox'},
  {command: 'ostree', package: 'ostree', versionArgs: ['--version'], neededFor: 'commit'},
  {command: 'zstd', package: 'zstd', versionArgs: ['--version'], neededFor: 'OCI zstd layers'},
  {command: 'skopeo', package: 'skopeo', versionArgs: ['--version'], neededFor: 'containers-storage: and docker:// output'},
  {command: 'umoci', package: 'umoci', versionArgs: ['--version'], neededFor: 'tests: unpacking images', optional: true},
  {command: 'qemu-system-x86_64', package: 'qemu-system-x86', versionArgs: ['--version'], neededFor: 'vm boot'},
  {command: 'qemu-img', package: 'qemu-utils', versionArgs: ['--version'], neededFor: 'disk images'},
  {command: 'mkfs.ext4', package: 'e2fsprogs', versionArgs: ['-V'], neededFor: 'disk images'},
  {command: 'mkfs.vfat', package: 'dosfstools', versionArgs: ['--help'], neededFor: 'disk images'},
  {command: 'mcopy', package: 'mtools', versionArgs: ['--version'], neededFor: 'disk images'},
  {command: 'sfdisk', package: 'fdisk', versionArgs: ['--version'], neededFor: 'disk images'},
]

/** Firmware files, checked by path rather than by running anything. */
export const HOST_FILES = [{path: '/usr/share/OVMF/OVMF_CODE_4M.fd', package: 'ovmf', neededFor: 'UEFI boot of disk images'}]

export interface ToolStatus {
  name: string
  package: string
  neededFor: string
  found: boolean
  version?: string
  optional: boolean
}

function firstVersion(output: string): string | undefined {
  const libostree = /Version: '([^']+)'/.exec(output)
  if (libostree) return libostree[1]
  return /\d+\.\d+(\.\d+)?([-+~.][\w.+~-]*)?/.exec(output)?.[0]
}

export async function probeHostTools(): Promise<ToolStatus[]> {
  const tools = await Promise.all(
    HOST_TOOLS.map(async (tool): Promise<ToolStatus> => {
      const result = await execa(tool.command, tool.versionArgs, {reject: false, all: true, timeout: 10_000})
      const found = !(result as {code?: string}).code?.startsWith('ENOENT')
      return {name: tool.command, package: tool.package, neededFor: tool.neededFor, found, version: found ? firstVersion(result.all ?? '') : undefined, optional: tool.optional ?? false}
    }),
  )
  const files = await Promise.all(
    HOST_FILES.map(async (file): Promise<ToolStatus> => {
      const found = await pathExists(file.path)
      return {name: file.path, package: file.package, neededFor: file.neededFor, found, optional: false}
    }),
  )
  return [...tools, ...files]
}

/** The one apt-get line that installs everything missing. */
export function installLine(statuses: ToolStatus[]): string | undefined {
  const missing = [...new Set(statuses.filter((status) => !status.found).map((status) => status.package))]
  return missing.length ? `apt-get install --no-install-recommends ${missing.join(' ')}` : undefined
}
