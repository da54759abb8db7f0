import {Args, Flags} from '@oclif/core'
import {architectureNamed} from '../../arch.js'
import {BaseCommand} from '../../cli/base-command.js'
import {composeFlags} from '../../cli/compose-flags.js'
import {UsageError} from '../../errors.js'
import {parseImageReference} from '../../oci/reference.js'
import {diskFormatOf} from '../../vm/boot.js'
import {makeDiskImage} from '../../vm/disk-image.js'

/** "4G", "4096M", "4096" (MiB) → MiB. */
export function parseSize(text: string): number {
  const match = /^(\d+)([MG]i?B?)?$/i.exec(text.trim())
  if (!match) throw new UsageError(`--size ${text}: expected a size such as 4G or 4096M`)
  const value = Number(match[1])
  return match[2]?.toUpperCase().startsWith('G') ? value * 1024 : value
}

export default class ComposeDiskImage extends BaseCommand<typeof ComposeDiskImage> {
  static summary = 'Make a UEFI-bootable disk image from a commit or an image.'
  static description =
    'Deploys the commit (REF with --repo) or the image with the target\'s own ostree and writes a GPT disk: an EFI system partition with GRUB (built from the tree\'s grub-efi-amd64-bin, or grub-efi-arm64-bin for arm64), and an ext4 root holding the ostree sysroot, whose /boot GRUB reads: the menu ostree rewrites at every deploy, so upgrades and rollbacks on the machine boot. The deployment\'s origin is the treefile\'s remote and ref. Raw disks can be written to a machine with dd; both formats boot in a VM (vm boot DISK checks it).'
  static examples = [
    '<%= config.bin %> <%= command.id %> --repo out/repo debian/13/amd64/minimal -o out/minimal.qcow2',
    '<%= config.bin %> <%= command.id %> oci-archive:out/minimal.ociarchive -o out/minimal.raw --size 8G --karg quiet',
    '<%= config.bin %> <%= command.id %> oci-archive:out/multi.ociarchive --arch arm64 -o out/minimal-arm64.qcow2',
  ]

  static args = {source: Args.string({description: 'With --repo, a ref or commit; else an image (oci:DIR[:TAG], oci-archive:FILE[:TAG], containers-storage:NAME, docker://REGISTRY/NAME).', required: true})}
  static flags = {
    repo: Flags.string({description: 'OSTree repo holding the commit.'}),
    output: Flags.string({char: 'o', description: 'The disk image file (.raw, .img or .qcow2).', required: true}),
    format: Flags.string({description: 'Disk format (default: from the file name).', options: ['raw', 'qcow2']}),
    size: Flags.string({description: 'Disk size, e.g. 4G or 4096M (default: what the deployment needs, with room to grow).'}),
    karg: Flags.string({description: 'Extra kernel argument (repeatable).', multiple: true}),
    arch: Flags.string({description: 'Of an image index, make the disk of this architecture\'s image (default: the host\'s).'}),
    cachedir: composeFlags.cachedir,
  }

  async run(): Promise<unknown> {
    const {args} = await this.parse(ComposeDiskImage)
    const {flags} = this
    const sizeMiB = flags.size === undefined ? undefined : parseSize(flags.size)
    if (sizeMiB !== undefined && sizeMiB < 512) throw new UsageError(`--size ${flags.size} is too small: a bootable disk needs at least 512M`)
    if (flags.arch && flags.repo) throw new UsageError('--arch is for an image index; a commit makes a disk of its own architecture')
    const result = await makeDiskImage({
      source: flags.repo ? {repo: flags.repo, ref: args.source} : {image: parseImageReference(args.source), architecture: flags.arch ? architectureNamed(flags.arch) : undefined},
      output: flags.output,
      format: (flags.format as 'raw' | 'qcow2' | undefined) ?? diskFormatOf(flags.output),
      sizeMiB,
      kargs: flags.karg ?? [],
      cacheDir: flags.cachedir,
      progress: (line) => this.note(line),
    })
    if (!this.jsonEnabled()) {
      this.log(result.output)
      this.note(`disk:     ${result.sizeMiB} MiB (${result.format}, ${(result.fileBytes / 1e6).toFixed(0)} MB on disk)\ncommit:   ${result.commit}`)
    }
    return result
  }
}
