import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {composeFlags} from '../../cli/compose-flags.js'
import {describeImage, imageFlags, parseImageOptions, writeCommitImage} from '../../cli/image-flags.js'

export default class ComposeContainerEncapsulate extends BaseCommand<typeof ComposeContainerEncapsulate> {
  static summary = 'Write an existing commit as an OCI image bootc accepts.'
  static description =
    'Like rpm-ostree compose container-encapsulate: the commit REF of --repo becomes an OCI image with plain layers split by package (from the dpkg database in the commit), labelled containers.bootc=1, ostree.bootable, ostree.commit, ostree.linux and the version, after bootc\'s lint passed on it.'
  static examples = ['<%= config.bin %> <%= command.id %> --repo out/repo debian/13/amd64/minimal oci-archive:out/minimal.ociarchive']

  static args = {
    ref: Args.string({description: 'Ref or commit.', required: true}),
    image: Args.string({description: 'Where the image goes: oci:DIR[:TAG], oci-archive:FILE[:TAG], containers-storage:NAME[:TAG] or docker://REGISTRY/NAME[:TAG].', required: true}),
  }
  static flags = {
    repo: Flags.string({description: 'OSTree repo holding the commit.', required: true}),
    cachedir: composeFlags.cachedir,
    ...imageFlags,
  }

  async run(): Promise<unknown> {
    const {args} = await this.parse(ComposeContainerEncapsulate)
    const {flags} = this
    const result = await writeCommitImage(await parseImageOptions(args.image, flags), {repo: flags.repo, ref: args.ref}, flags, (line) => this.note(line))
    if (!this.jsonEnabled()) {
      this.log(result.manifestDigest)
      this.note(describeImage(result))
    }
    return result
  }
}
