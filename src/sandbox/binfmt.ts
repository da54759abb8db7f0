import {readFile} from 'node:fs/promises'
import {architectureNamed, isForeign} from '../arch.js'
import {UsageError} from '../errors.js'
import {pathExists} from '../fs.js'
import {probeTool} from '../tools/host.js'
import {foreignTools, installCommand} from '../tools/table.js'

/** Where the kernel lists the interpreters it runs foreign binaries with. */
export const BINFMT_MISC = '/proc/sys/fs/binfmt_misc'

/**
 * Why this host cannot run the programs of a tree of architecture NAME (a
 * Debian name), or undefined when it can: natively, or through qemu-user
 * registered with binfmt_misc with the F flag. With F the kernel holds the
 * interpreter open from the moment it was registered, so it runs in the
 * sandbox and in the tree, where no qemu binary is. BINFMTMISC: where
 * binfmt_misc is mounted (a test gives a directory of its own).
 */
export async function foreignExecutionProblem(name: string, binfmtMisc = BINFMT_MISC): Promise<string | undefined> {
  if (!isForeign(name)) return undefined
  const arch = architectureNamed(name)
  const tools = foreignTools(arch)
  const runsThrough = `a ${name} tree runs through qemu-user on this host`
  for (const tool of tools) {
    if (!(await probeTool(tool)).found) return `${runsThrough}: ${tool.command}: command not found (${installCommand(tools.map((each) => each.package))})`
  }
  if (!(await pathExists(`${binfmtMisc}/status`))) return `${runsThrough}, and binfmt_misc is not mounted (mount -t binfmt_misc binfmt_misc ${binfmtMisc})`
  const entry = `${binfmtMisc}/${arch.qemuUser}`
  const register = `/usr/lib/systemd/systemd-binfmt /usr/lib/binfmt.d/${arch.qemuUser}.conf`
  const registered = await readFile(entry, 'utf8').catch(() => undefined)
  if (registered === undefined) return `${runsThrough}, and ${arch.qemuUser} is not registered with binfmt_misc (${register})`
  if (!/^enabled$/m.test(registered)) return `${runsThrough}, and ${entry} is disabled (echo 1 > ${entry})`
  if (!/^flags: [A-Z]*F/m.test(registered)) return `${runsThrough}, and ${entry} has no F flag: the sandbox cannot reach its interpreter (echo -1 > ${entry}; ${register})`
  return undefined
}

/** foreignExecutionProblem as bad input: exit 2, before any work. */
export async function checkForeignExecution(name: string): Promise<void> {
  const problem = await foreignExecutionProblem(name)
  if (problem) throw new UsageError(problem)
}
