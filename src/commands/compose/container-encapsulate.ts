import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {composeFlags} from '../../cli/compose-flags.js'
import {checkIndexOutput, describeImage, describeIndex, imageFlags, parseImageOptions, writeCommitImage, writeCommitImageIndex} from '../../cli/image-flags.js'

export default class ComposeContainerEncapsulate extends BaseCommand<typeof ComposeContainerEncapsulate> {
  static summary = 'Write an existing commit as an OCI image bootc accepts.'
  static description =
    'Like rpm-ostree compose container-encapsulate: the commit REF of --repo becomes an OCI image with plain layers split by package (from the dpkg database in the commit), labelled containers.bootc=1, ostree.bootable, ostree.commit, ostree.linux and the version, after bootc\'s lint passed on it. Several REFs, one per architecture, become one image index of their images.'
  static examples = [
    '<%= config.bin %> <%= command.id %> --repo out/repo debian/13/amd64/minimal oci-archive:out/minimal.ociarchive',
    '<%= config.bin %> <%= command.id %> --repo out/repo debian/13/amd64/minimal debian/13/arm64/minimal oci-archive:out/multi.ociarchive',
  ]

  // REF... IMAGE: the refs are variadic, so the parser takes every word and run() splits them.
  static strict = false
  static args = {
    ref: Args.string({description: 'Ref or commit; several (one per architecture) make an image index.', required: true}),
    image: Args.string({description: 'Where the image goes: oci:DIR[:TAG], oci-archive:FILE[:TAG], containers-storage:NAME[:TAG] or docker://REGISTRY/NAME[:TAG].', required: true}),
  }
  static flags = {
    repo: Flags.string({description: 'OSTree repo holding the commits.', required: true}),
    cachedir: composeFlags.cachedir,
    ...imageFlags,
  }

  async run(): Promise<unknown> {
    const {argv} = await this.parse(ComposeContainerEncapsulate)
    const {flags} = this
    const words = argv as string[]
    const refs = words.slice(0, -1)
    const image = await parseImageOptions(words.at(-1)!, flags)
    if (refs.length > 1) {
      checkIndexOutput(image)
      const result = await writeCommitImageIndex(image, {repo: flags.repo, refs}, flags, (line) => this.note(line))
      if (!this.jsonEnabled()) {
        this.log(result.indexDigest)
        this.note(describeIndex(result))
      }
      return result
    }
    const result = await writeCommitImage(image, {repo: flags.repo, ref: refs[0]}, flags, (line) => this.note(line))
    if (!this.jsonEnabled()) {
      this.log(result.manifestDigest)
      this.note(describeImage(result))
    }
    return result
  }
}
