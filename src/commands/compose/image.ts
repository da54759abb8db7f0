import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {composeFlags, composeOptions, imageArchFlag} from '../../cli/compose-flags.js'
import {composeImageIndex, describeImage, describeIndex, imageFlags, parseImageOptions, writeCommitImage} from '../../cli/image-flags.js'
import {writeBuildReport} from '../../compose/report.js'
import {composeTree} from '../../compose/tree.js'
import {loadTreefile} from '../../treefile/index.js'

const {repo: _repo, ...treeFlags} = composeFlags

export default class ComposeImage extends BaseCommand<typeof ComposeImage> {
  static summary = 'Compose a treefile straight into an OCI image bootc accepts.'
  static description =
    'Like rpm-ostree compose image: composes into a bare-user repo in the cache dir (so an unchanged treefile is a no-op), then writes the commit as an OCI image split into package layers, after bootc\'s lint passed on it. OUTPUT is oci:DIR[:TAG], oci-archive:FILE[:TAG], containers-storage:NAME[:TAG] or docker://REGISTRY/NAME[:TAG].'
  static examples = [
    '<%= config.bin %> <%= command.id %> treefiles/debian-trixie-minimal.yaml oci-archive:out/minimal.ociarchive',
    '<%= config.bin %> <%= command.id %> treefiles/debian-trixie-minimal.yaml docker://registry.example.com/debian/minimal:latest --authfile auth.json',
  ]

  static args = {
    treefile: Args.string({description: 'Treefile (YAML or JSON).', required: true}),
    output: Args.string({description: 'Where the image goes (a transport reference).', required: true}),
  }
  static flags = {
    ...treeFlags,
    ...imageFlags,
    arch: imageArchFlag,
  }

  async run(): Promise<unknown> {
    const {args} = await this.parse(ComposeImage)
    const {flags} = this
    const architectures = flags.arch ?? []
    if (architectures.length > 1) return this.runIndex(args.treefile, args.output, architectures)
    const resolved = await loadTreefile(args.treefile, {arch: architectures[0]})
    const image = await parseImageOptions(args.output, flags)
    const compose = await composeTree(await composeOptions(flags, resolved), this.reporter())
    const result = await writeCommitImage(image, {repo: compose.repo, ref: compose.commit}, flags, (line) => this.note(line))
    if (flags['write-report-to']) await writeBuildReport(flags['write-report-to'], compose, result)
    if (!this.jsonEnabled()) {
      this.log(result.manifestDigest)
      this.note(`commit:   ${compose.commit}${compose.unchanged ? ' (no apparent changes since previous commit)' : ''}\n${describeImage(result)}`)
    }
    return {...result, commit: compose.commit, compose}
  }

  private async runIndex(treefile: string, output: string, architectures: string[]): Promise<unknown> {
    const result = await composeImageIndex({treefile, output, architectures}, this.flags, {reporter: this.reporter(), note: (line) => this.note(line)})
    if (!this.jsonEnabled()) {
      this.log(result.indexDigest)
      this.note(describeIndex(result))
    }
    return result
  }
}
