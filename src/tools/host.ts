import {execa} from 'execa'
import {ARCHITECTURES} from '../arch.js'
import {pathExists} from '../fs.js'
import {hostRequirements, installCommand} from './table.js'

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

/** Whether each host tool and firmware file of the table is there, and its version. */
export async function probeHostTools(): Promise<ToolStatus[]> {
  const {tools, files} = hostRequirements([...ARCHITECTURES])
  const probed = await Promise.all(
    tools.map(async (tool): Promise<ToolStatus> => {
      // Probing is the point here: the table's own programs, run as doctor's checks.
      const result = await execa(tool.command, tool.versionArgs, {reject: false, all: true, timeout: 10_000})
      const found = !(result as {code?: string}).code?.startsWith('ENOENT')
      return {name: tool.command, package: tool.package, neededFor: tool.neededFor, found, version: found ? firstVersion(result.all ?? '') : undefined, optional: tool.optional ?? false}
    }),
  )
  const present = await Promise.all(
    files.map(async (file): Promise<ToolStatus> => ({name: file.path, package: file.package, neededFor: file.neededFor, found: await pathExists(file.path), optional: file.optional ?? false})),
  )
  return [...probed, ...present]
}

/** The one apt-get line that installs everything missing that is required. */
export function installLine(statuses: ToolStatus[]): string | undefined {
  const missing = statuses.filter((status) => !status.found && !status.optional).map((status) => status.package)
  return missing.length ? installCommand(missing) : undefined
}
