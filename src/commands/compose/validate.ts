import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {describeTreefile, loadTreefile, printableTreefile} from '../../treefile/index.js'

export default class ComposeValidate extends BaseCommand<typeof ComposeValidate> {
  static summary = 'Load, merge and validate a treefile.'
  static description = 'Reads the treefile and everything it includes, merges them with rpm-ostree\'s rules, checks the result against schemas/treefile.schema.json and the semantic rules, and reports every problem as FILE:LINE:COL: message (exit 2).'
  static examples = [
    '<%= config.bin %> <%= command.id %> treefiles/debian-trixie-minimal.yaml',
    '<%= config.bin %> <%= command.id %> treefiles/debian-trixie-minimal.yaml --print',
  ]

  static args = {treefile: Args.string({description: 'Treefile (YAML or JSON).', required: true})}
  static flags = {
    print: Flags.boolean({description: 'Print the merged treefile as JSON.'}),
    arch: Flags.string({description: 'Debian architecture to resolve arch-include and packages-$arch for (default: the host\'s).'}),
  }

  async run(): Promise<unknown> {
    const {args} = await this.parse(ComposeValidate)
    const resolved = await loadTreefile(args.treefile, {arch: this.flags.arch})
    const printable = printableTreefile(resolved)
    if (this.flags.print && !this.jsonEnabled()) this.log(JSON.stringify(printable, null, 2))
    else if (!this.flags.quiet) this.log(describeTreefile(args.treefile, resolved))
    return {valid: true, treefile: printable}
  }
}
