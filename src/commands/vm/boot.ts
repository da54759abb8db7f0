import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {defaultCacheDir} from '../../cli/compose-flags.js'
import {AptOstreeError} from '../../errors.js'
import {parseImageReference} from '../../oci/reference.js'
import {bootCommit} from '../../vm/boot.js'

export default class VmBoot extends BaseCommand<typeof VmBoot> {
  static summary = 'Deploy a commit or an image into a throwaway disk and boot it under QEMU.'
  static description = 'Deploys REF with the target\'s own ostree into a fresh sysroot, makes an ext4 disk of it, boots it under QEMU (software emulation) and watches the serial console. Exit 0 only when the default target is reached with no failed unit.'
  static examples = ['<%= config.bin %> <%= command.id %> --repo out/repo debian/13/amd64/minimal', '<%= config.bin %> <%= command.id %> oci-archive:out/minimal.ociarchive', '<%= config.bin %> <%= command.id %> --repo out/repo debian/13/amd64/minimal --console']

  static args = {ref: Args.string({description: 'Ref or commit of --repo to boot; without --repo, an image: oci:DIR[:TAG], oci-archive:FILE[:TAG], containers-storage:NAME or docker://REGISTRY/NAME.', required: true})}
  static flags = {
    repo: Flags.string({description: 'OSTree repo holding the commit.'}),
    timeout: Flags.integer({description: 'Seconds to wait for the target.', default: 600, min: 10}),
    target: Flags.string({description: 'Unit to wait for (default: the treefile\'s default-target, else multi-user.target).'}),
    console: Flags.boolean({description: 'Stream the serial console to stderr.'}),
    cachedir: Flags.string({description: 'Where the work dir and logs go.', default: defaultCacheDir()}),
  }

  async run(): Promise<unknown> {
    const {args} = await this.parse(VmBoot)
    const {flags} = this
    const result = await bootCommit({
      source: flags.repo ? {repo: flags.repo, ref: args.ref} : {image: parseImageReference(args.ref)},
      cacheDir: flags.cachedir,
      timeoutSeconds: flags.timeout,
      target: flags.target,
      onLine: flags.console && !this.jsonEnabled() ? (line) => process.stderr.write(line + '\n') : undefined,
      progress: (line) => this.note(line),
    })
    const ok = result.reached && result.failedUnits.length === 0
    if (!this.jsonEnabled()) {
      this.log(result.reached ? `reached ${result.target} in ${result.seconds} s` : `did not reach ${result.target}: ${result.failure}`)
      this.log(`failed units: ${result.failedUnits.length ? result.failedUnits.join('; ') : 'none'}`)
      this.log(`composefs on /: ${result.composefs ? 'yes' : 'no'}`)
      if (result.kernelCommandLine) this.log(`kernel command line: ${result.kernelCommandLine}`)
      this.log(`console log: ${result.consoleLog}`)
    }
    if (!ok && !this.jsonEnabled()) throw new AptOstreeError(`boot of ${args.ref} failed`)
    if (!ok) process.exitCode = 1
    return result
  }
}
