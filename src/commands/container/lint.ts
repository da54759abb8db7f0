import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {FailedResult, UsageError} from '../../errors.js'
import {architectureNamed} from '../../arch.js'
import {loadLintTargets} from '../../lint/load.js'
import {checkRuleNames, describeRules, formatLintReport, formatRuleList, runLint} from '../../lint/run.js'

export default class ContainerLint extends BaseCommand<typeof ContainerLint> {
  static summary = 'Check a rootfs or an image with bootc\'s lint rules.'
  static description =
    'Runs the rules of `bootc container lint` (same names, same fatal and warning types) and apt-ostree\'s Debian ones on a rootfs directory or an image, in name order. Exit 1 when a fatal rule fails (or, with --fatal-warnings, any rule warns); exit 2 for a target or rule name that does not exist.'
  static examples = [
    '<%= config.bin %> <%= command.id %> out/rootfs',
    '<%= config.bin %> <%= command.id %> oci-archive:out/image.tar --fatal-warnings',
    '<%= config.bin %> <%= command.id %> containers-storage:localhost/debian-bootc --skip var-log --json',
    '<%= config.bin %> <%= command.id %> --list',
  ]

  static args = {
    target: Args.string({description: 'A rootfs directory (/ is the running system), or an image: oci:DIR[:TAG], oci-archive:FILE[:TAG], containers-storage:NAME, docker://REGISTRY/NAME[:TAG].'}),
  }

  static flags = {
    'fatal-warnings': Flags.boolean({description: 'Fail on warnings too.'}),
    skip: Flags.string({description: 'Do not run the rule NAME (repeatable).', multiple: true, helpValue: 'NAME'}),
    list: Flags.boolean({description: 'Print the rules (name, type, description) and exit.'}),
    'no-truncate': Flags.boolean({description: 'Print every item of a finding, not only the first 5.'}),
    arch: Flags.string({description: 'Of an image index, check only this architecture\'s image (default: every platform\'s).'}),
  }

  async run(): Promise<unknown> {
    const {args} = await this.parse(ContainerLint)
    const {flags} = this
    if (flags.list) {
      if (!this.jsonEnabled()) this.log(formatRuleList())
      return describeRules()
    }
    if (!args.target) throw new UsageError('container lint needs a TARGET: a rootfs directory or an image reference (or --list)')
    const skip = flags.skip ?? []
    // Before reading what may be a large image.
    checkRuleNames(skip)
    const architecture = flags.arch ? architectureNamed(flags.arch) : undefined
    const targets = await loadLintTargets(args.target, architecture)
    const results = await Promise.all(targets.map(async ({tree, rootKind, architecture}) => ({architecture, rootKind, result: await runLint(tree, {rootKind, skip, fatalWarnings: flags['fatal-warnings']})})))
    const failed = results.reduce((sum, {result}) => sum + result.failed, 0)
    const [only] = results
    // One image or rootfs: its report; an index: one per platform, in index order.
    const report = results.length === 1 && !only.architecture ? {target: args.target, rootKind: only.rootKind, ...only.result} : {target: args.target, rootKind: 'image', platforms: results.map(({architecture, result}) => ({architecture, ...result})), failed}
    if (!this.jsonEnabled()) {
      const text = (result: (typeof results)[number]['result']): string => formatLintReport(result, {truncate: !flags['no-truncate']})
      this.log(results.map(({architecture, result}) => (architecture ? `${architecture}:\n${text(result)}` : text(result))).join('\n'))
    }
    if (failed > 0) throw new FailedResult(`Checks failed: ${failed}`, report)
    return report
  }
}
