import {BaseCommand} from '../cli/base-command.js'
import {FailedResult} from '../errors.js'
import {installLine, probeHostTools} from '../tools/host.js'

export default class Doctor extends BaseCommand<typeof Doctor> {
  static summary = 'Check the host tools the pipeline needs.'
  static description = 'Lists each host tool, whether it was found, its version, and the one apt-get line that installs what is missing. dracut and the target\'s ostree run inside the composed tree, so the host needs neither. Exit 1 when a required tool is missing.'
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<unknown> {
    const statuses = await probeHostTools()
    const install = installLine(statuses)
    if (!this.jsonEnabled()) {
      const width = Math.max(...statuses.map((status) => status.name.length))
      for (const status of statuses) {
        const state = status.found ? `ok       ${status.version ?? ''}` : status.optional ? 'missing  (optional)' : 'MISSING'
        this.log(`${status.name.padEnd(width)}  ${state.padEnd(28)}  ${status.neededFor}`)
      }
      this.log(`${'dracut'.padEnd(width)}  ${'in target'.padEnd(28)}  initramfs: runs inside the composed tree`)
      if (install) this.log(`\nTo install what is missing:\n  ${install}`)
    }
    const result = {tools: statuses, install}
    if (statuses.some((status) => !status.found && !status.optional)) throw new FailedResult('required host tools are missing', result)
    return result
  }
}
