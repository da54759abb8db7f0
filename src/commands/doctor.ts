import {BaseCommand} from '../cli/base-command.js'
import {composeFlags} from '../cli/compose-flags.js'
import {FailedResult} from '../errors.js'
import {checkBuildHost, checkForeignArchitectures} from '../host-check.js'
import {installLine, probeHostTools} from '../tools/host.js'

export default class Doctor extends BaseCommand<typeof Doctor> {
  static summary = 'Check the host tools and the sandbox the pipeline needs.'
  static description = 'Lists each host tool, whether it was found, its version, and the one apt-get line that installs what is missing; then tries the sandbox for real in the cache dir: the build namespace (subordinate ids and newuidmap for an ordinary user), a job in it, and user xattrs on the cache\'s file system; and whether trees of another architecture can be composed (qemu-user through binfmt_misc), with the fix. dracut and the target\'s ostree run inside the composed tree, so the host needs neither. Exit 1 when a required tool is missing or a check fails.'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --cachedir ~/.cache/apt-ostree --json']

  static flags = {
    cachedir: composeFlags.cachedir,
  }

  async run(): Promise<unknown> {
    const statuses = await probeHostTools()
    const install = installLine(statuses)
    const checks = [...await checkBuildHost(this.flags.cachedir), ...await checkForeignArchitectures()]
    if (!this.jsonEnabled()) {
      const width = Math.max(...statuses.map((status) => status.name.length), ...checks.map((check) => check.name.length))
      for (const status of statuses) {
        const state = status.found ? `ok       ${status.version ?? ''}` : status.optional ? 'missing  (optional)' : 'MISSING'
        this.log(`${status.name.padEnd(width)}  ${state.padEnd(28)}  ${status.neededFor}`)
      }
      this.log(`${'dracut'.padEnd(width)}  ${'in target'.padEnd(28)}  initramfs: runs inside the composed tree`)
      for (const check of checks) this.log(`${check.name.padEnd(width)}  ${(check.ok ? 'ok' : check.optional ? 'no (optional)' : 'FAILED').padEnd(28)}  ${check.detail}`)
      if (install) this.log(`\nTo install what is missing:\n  ${install}`)
    }
    const result = {tools: statuses, install, checks}
    if (statuses.some((status) => !status.found && !status.optional)) throw new FailedResult('required host tools are missing', result)
    if (checks.some((check) => !check.ok && !check.optional)) throw new FailedResult('the sandbox cannot run here', result)
    return result
  }
}
