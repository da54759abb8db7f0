import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {composeFlags} from '../../cli/compose-flags.js'
import {imageFlags} from '../../cli/image-flags.js'
import {diffBuilds, formatDiff} from '../../compose/diff.js'
import {checkMaxLayers, readPreviousPacking} from '../../oci/chunking.js'
import {printable} from '../../text.js'

export default class ComposeDiff extends BaseCommand<typeof ComposeDiff> {
  static summary = 'What changed between two builds: inputs, treefile, packages and image layers.'
  static description =
    'Compares two commits of REPO: the input hash\'s parts each records (the tool, each file the treefile names, each repo suite\'s InRelease, SOURCE_DATE_EPOCH, the metadata, the lock), the treefiles they carry, their packages (added, removed, at another version), and the layers of their images that differ, the second keeping the first\'s layer grouping as a build does with the previous image at its output.'
  static examples = ['<%= config.bin %> <%= command.id %> --repo out/repo debian/13/amd64/minimal^ debian/13/amd64/minimal']

  static args = {
    from: Args.string({description: 'The earlier build: a ref or commit.', required: true}),
    to: Args.string({description: 'The later build: a ref or commit.', required: true}),
  }
  static flags = {
    repo: Flags.string({description: 'The OSTree repo holding both commits.', required: true}),
    cachedir: composeFlags.cachedir,
    'max-layers': imageFlags['max-layers'],
    'previous-build-manifest': Flags.string({description: 'The manifest JSON of the earlier build\'s image, whose layer grouping it has (default: a fresh grouping, as its first build had).'}),
  }

  async run(): Promise<unknown> {
    const {args} = await this.parse(ComposeDiff)
    const {flags} = this
    checkMaxLayers(flags['max-layers'])
    const previousPacking = flags['previous-build-manifest'] ? await readPreviousPacking(flags['previous-build-manifest']) : undefined
    const diff = await diffBuilds({repo: flags.repo, from: args.from, to: args.to, cacheDir: flags.cachedir, maxLayers: flags['max-layers'], previousPacking, progress: (line) => this.note(line)})
    if (!this.jsonEnabled()) this.log(printable(formatDiff(diff)))
    return diff
  }
}
