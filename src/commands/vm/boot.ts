import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {composeFlags} from '../../cli/compose-flags.js'
import {architectureNamed} from '../../arch.js'
import {FailedResult, UsageError} from '../../errors.js'
import {printable} from '../../text.js'
import {parseImageReference} from '../../oci/reference.js'
import {bootSystem, type BootResult} from '../../vm/boot.js'

/**
 * What `vm boot` prints of a boot. Most of it is the guest's own console
 * text (why it failed, the jobs still running, the failed units, the
 * journal lines, the kernel command line): written out escaped, a guest's
 * OSC 52 or carriage return never acts on the terminal. `--json` keeps the
 * raw result.
 */
export function describeBoot(result: BootResult): string {
  return printable(
    [
      result.reached ? `reached ${result.target} in ${result.seconds} s` : `did not reach ${result.target}: ${result.failure}`,
      `failed units: ${result.failedUnits.length ? result.failedUnits.join('; ') : 'none'}`,
      `err-level journal lines: ${result.errorLines.length === 0 ? 'none' : result.errorLines.map((line) => `\n  ${line}`).join('')}`,
      `composefs on /: ${result.composefs ? 'yes' : 'no'}`,
      ...(result.kernelCommandLine ? [`kernel command line: ${result.kernelCommandLine}`] : []),
      `console log: ${result.consoleLog}`,
      ...(result.command ? [`boot it again: ${result.command.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg}'`)).join(' ')}`] : []),
    ].join('\n'),
  )
}

export default class VmBoot extends BaseCommand<typeof VmBoot> {
  static summary = 'Boot a commit, an image or a disk image under QEMU and check it reaches its target.'
  static description =
    'A commit (REF with --repo) or an image (any transport) is deployed with the target\'s own ostree into a fresh sysroot, made an ext4 disk and booted with its kernel; a disk image (.raw, .img, .qcow2, as compose disk-image writes) boots through UEFI firmware (OVMF; AAVMF for arm64). The machine is of the commit\'s or the image\'s architecture (a disk is taken to be the host\'s, or --arch\'s); KVM is used when it runs guests of the host\'s architecture, software emulation otherwise. The serial console is watched; a deployed commit or image also gets one unit in its throwaway /etc (never in the image) that reports, once the target is reached, the units systemd lists as failed. Exit 0 only when the target is reached with no failed unit.'
  static examples = [
    '<%= config.bin %> <%= command.id %> --repo out/repo debian/13/amd64/minimal',
    '<%= config.bin %> <%= command.id %> oci-archive:out/minimal.ociarchive',
    '<%= config.bin %> <%= command.id %> out/minimal.qcow2 --keep',
  ]

  static args = {
    target: Args.string({
      description: 'With --repo, a ref or commit; else an image (oci:DIR[:TAG], oci-archive:FILE[:TAG], containers-storage:NAME, docker://REGISTRY/NAME) or a disk image file.',
      required: true,
    }),
  }
  static flags = {
    repo: Flags.string({description: 'OSTree repo holding the commit.'}),
    timeout: Flags.integer({description: 'Seconds to wait for the target.', default: 600, min: 10}),
    target: Flags.string({description: 'Unit to wait for (default: the treefile\'s default-target, else multi-user.target).'}),
    console: Flags.boolean({description: 'Stream the serial console to stderr.'}),
    keep: Flags.boolean({description: 'Keep the disk under CACHEDIR/vm and print the QEMU command that boots it again.'}),
    arch: Flags.string({description: 'Of an image index, boot this architecture\'s image; a disk image, as this architecture\'s machine (default: the host\'s).'}),
    cachedir: composeFlags.cachedir,
  }

  async run(): Promise<unknown> {
    const {args} = await this.parse(VmBoot)
    const {flags} = this
    const isDisk = !flags.repo && /\.(raw|img|qcow2)$/.test(args.target) && !/^[a-z-]+:/.test(args.target)
    if (flags.arch && flags.repo) throw new UsageError('--arch is for an image index or a disk; a commit boots as its own architecture')
    const architecture = flags.arch ? architectureNamed(flags.arch) : undefined
    const result = await bootSystem({
      source: flags.repo ? {repo: flags.repo, ref: args.target} : isDisk ? {disk: args.target, architecture} : {image: parseImageReference(args.target), architecture},
      cacheDir: flags.cachedir,
      timeoutSeconds: flags.timeout,
      target: flags.target,
      keep: flags.keep,
      // The guest chooses every byte of its console: escaped, it never acts on the terminal.
      onLine: flags.console && !this.jsonEnabled() ? (line) => process.stderr.write(printable(line) + '\n') : undefined,
      progress: (line) => this.note(line),
    })
    const ok = result.reached && result.failedUnits.length === 0
    if (!this.jsonEnabled()) this.log(describeBoot(result))
    if (!ok) throw new FailedResult(`boot of ${args.target} failed`, result)
    return result
  }
}
