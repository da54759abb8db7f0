import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {composeFlags} from '../../cli/compose-flags.js'
import {FailedResult} from '../../errors.js'
import {printable} from '../../text.js'
import {checkUpgrade, type UpgradeReport} from '../../vm/upgrade.js'

/**
 * What `vm upgrade` prints of the check. The guest wrote much of it (the
 * commits' versions, the origin, what `ostree admin upgrade` said, why a
 * boot failed, the journal lines): written out escaped, it never acts on
 * the terminal. `--json` keeps the raw report.
 */
export function describeUpgrade(report: UpgradeReport): string {
  const named = (commit: string, version?: string): string => `${commit.slice(0, 12)}${version ? ` (${version})` : ''}`
  return printable(
    [
      `${named(report.from, report.fromVersion)} → ${named(report.to, report.toVersion)}, origin ${report.origin}`,
      ...report.steps.map((step) => `${step.ok ? 'ok    ' : 'FAILED'} ${step.step}: ${step.seconds} s${step.detail ? ` (${step.detail})` : ''}`),
      `err-level journal lines: ${report.errors.length === 0 ? 'none' : report.errors.map((line) => `\n  ${line}`).join('')}`,
      `console logs: ${report.consoleLogs.join(' ')}`,
    ].join('\n'),
  )
}

export default class VmUpgrade extends BaseCommand<typeof VmUpgrade> {
  static summary = 'Check that machines running one version upgrade to REF and roll back, on a booted machine.'
  static description =
    'Makes a disk from --from exactly as compose disk-image does, boots it under UEFI firmware through the disk\'s own GRUB, and gives the guest REPO on a second, read-only disk (the guest has no network). In the guest, a check added to the throwaway deployment\'s /etc (never to the image) points the image\'s remote at that disk and runs a plain `ostree admin upgrade`; after the reboot it checks that REF\'s commit runs with no failed unit and that a locally changed /etc file and /var data were kept, runs `ostree admin set-default 1`, and after the next reboot checks that --from runs again. Each step\'s time is reported; exit 0 only when every step held.'
  static examples = ['<%= config.bin %> <%= command.id %> --repo out/repo --from v1-commit debian/13/amd64/minimal', '<%= config.bin %> <%= command.id %> --repo out/repo --from debian/13/amd64/minimal^ debian/13/amd64/minimal --cycles 2 --json']

  static args = {ref: Args.string({description: 'The ref to upgrade to.', required: true})}
  static flags = {
    repo: Flags.string({description: 'The OSTree repo holding both versions (what machines pull from).', required: true}),
    from: Flags.string({description: 'The version machines run now: a ref or commit of --repo.', required: true}),
    cycles: Flags.integer({description: 'Upgrade-and-rollback cycles on the same disk.', default: 1, min: 1, max: 5}),
    timeout: Flags.integer({description: 'Seconds each boot may take.', default: 900, min: 10}),
    cachedir: composeFlags.cachedir,
  }

  async run(): Promise<unknown> {
    const {args} = await this.parse(VmUpgrade)
    const {flags} = this
    const report = await checkUpgrade({repo: flags.repo, from: flags.from, ref: args.ref, cycles: flags.cycles, cacheDir: flags.cachedir, timeoutSeconds: flags.timeout, progress: (line) => this.note(line)})
    if (!this.jsonEnabled()) this.log(describeUpgrade(report))
    if (!report.ok) throw new FailedResult(`the upgrade check of ${args.ref} from ${flags.from} failed`, report)
    return report
  }
}
