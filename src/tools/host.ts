import {execa} from 'execa'
import {ARCHITECTURES} from '../arch.js'
import {pathExists} from '../fs.js'
import {hostRequirements, installCommand, type HostTool} from './table.js'

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

/** Runs TOOL as the table says to ask its version: whether it is there, and what it printed. */
export async function probeTool(tool: HostTool): Promise<{found: boolean; output: string}> {
  const result = await execa(tool.command, tool.versionArgs, {reject: false, all: true, timeout: 10_000})
  return {found: !(result as {code?: string}).code?.startsWith('ENOENT'), output: result.all ?? ''}
}

/** Whether each host tool and firmware file of the table is there, and its version. */
export async function probeHostTools(): Promise<ToolStatus[]> {
  const {tools, files} = hostRequirements([...ARCHITECTURES])
  const probed = await Promise.all(
    tools.map(async (tool): Promise<ToolStatus> => {
      const {found, output} = await probeTool(tool)
      return {name: tool.command, package: tool.package, neededFor: tool.neededFor, found, version: found ? firstVersion(output) : undefined, optional: tool.optional ?? false}
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
