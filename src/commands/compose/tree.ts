import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {archiveDirFlag, composeFlags, composeOptions, imageArchFlag, packageLock, publishFlags, publishOptions} from '../../cli/compose-flags.js'
import {composeImageIndex, describeImage, describeIndex, imageFlags, parseImageOptions, writeCommitImage} from '../../cli/image-flags.js'
import {writeBuildReport} from '../../compose/report.js'
import {composeTree, type ComposeResult} from '../../compose/tree.js'
import {UsageError} from '../../errors.js'
import {dryRun} from '../../compose/dry-run.js'
import type {PackageLock} from '../../bootstrap/index.js'
import {loadTreefile, printableTreefile, type ResolvedTreefile} from '../../treefile/index.js'

export default class ComposeTree extends BaseCommand<typeof ComposeTree> {
  static summary = 'Compose a treefile into an OSTree commit.'
  static description = 'Runs plan → bootstrap (mmdebstrap) → customize → ostreeify → commit. When the inputs (treefile, referenced files, archive state, lockfiles, tool version and code) are unchanged since the ref\'s last commit, prints "No apparent changes since previous commit" and exits 0.'
  static examples = [
    '<%= config.bin %> <%= command.id %> treefiles/debian-trixie-minimal.yaml --repo out/repo',
    '<%= config.bin %> <%= command.id %> treefiles/debian-trixie-minimal.yaml --print-only',
    'SOURCE_DATE_EPOCH=1767225600 <%= config.bin %> <%= command.id %> treefiles/debian-trixie-minimal.yaml --repo out/repo --write-composejson-to out/compose.json',
  ]

  static args = {treefile: Args.string({description: 'Treefile (YAML or JSON).', required: true})}
  static flags = {
    ...composeFlags,
    ...publishFlags,
    'print-only': Flags.boolean({description: 'Print the merged treefile as JSON and exit.'}),
    'dry-run': Flags.boolean({description: 'Resolve the package set against the repos and print it (name=version); write nothing.'}),
    container: Flags.boolean({description: 'Also write the commit as an OCI image bootc accepts, to --output.'}),
    output: Flags.string({char: 'o', description: 'Where --container writes the image: oci:DIR[:TAG], oci-archive:FILE[:TAG], containers-storage:NAME[:TAG] or docker://REGISTRY/NAME[:TAG].'}),
    ...imageFlags,
    arch: imageArchFlag,
  }

  async run(): Promise<unknown> {
    const {args} = await this.parse(ComposeTree)
    const {flags} = this
    const architectures = flags.arch ?? []
    if (architectures.length > 1) return this.runIndex(args.treefile, architectures)
    const resolved = await loadTreefile(args.treefile, {arch: architectures[0]})
    if (flags['print-only']) {
      const printable = printableTreefile(resolved)
      if (!this.jsonEnabled()) this.log(JSON.stringify(printable, null, 2))
      return printable
    }
    if (flags['dry-run']) return this.dryRun(resolved, await packageLock(flags), await archiveDirFlag(flags['archive-dir']))
    if (Boolean(flags.container) !== Boolean(flags.output)) throw new UsageError(flags.container ? '--container needs --output (-o) naming where the image goes, e.g. -o oci-archive:out/image.ociarchive' : '--output is for the image: add --container')
    const image = flags.output ? await parseImageOptions(flags.output, flags) : undefined
    const result = await composeTree(await composeOptions(flags, resolved, publishOptions(flags, resolved)), this.reporter())
    if (!this.jsonEnabled()) this.printSummary(result)
    const written = image && (await writeCommitImage(image, {repo: result.repo, ref: result.commit}, flags, (line) => this.note(line)))
    if (flags['write-report-to']) await writeBuildReport(flags['write-report-to'], result, written)
    if (!written) return result
    if (!this.jsonEnabled()) this.note(describeImage(written))
    return {...result, image: written}
  }

  /** Several --arch: an image index, so only with --container. */
  private async runIndex(treefile: string, architectures: string[]): Promise<unknown> {
    const {flags} = this
    for (const flag of ['print-only', 'dry-run'] as const) {
      if (flags[flag]) throw new UsageError(`--${flag} is for one architecture: give one --arch`)
    }
    if (!flags.container || !flags.output) throw new UsageError('several --arch make one image index: add --container -o OUTPUT, or compose each --arch on its own')
    const result = await composeImageIndex({treefile, output: flags.output, architectures, publish: (resolved) => publishOptions(flags, resolved)}, flags, {reporter: this.reporter(), note: (line) => this.note(line)})
    if (!this.jsonEnabled()) {
      for (const compose of result.composes) this.printSummary(compose)
      this.note(describeIndex(result))
    }
    return result
  }

  private async dryRun(resolved: ResolvedTreefile, lock?: PackageLock, archiveDir?: string): Promise<unknown> {
    const packages = (await dryRun(resolved, (message) => this.note(`warning: ${message}`), lock, archiveDir)).map((pkg) => `${pkg.name}=${pkg.version}`)
    if (!this.jsonEnabled()) this.log(packages.join('\n'))
    this.note(`${packages.length} packages`)
    return {packages}
  }

  private printSummary(result: ComposeResult): void {
    if (result.unchanged) {
      this.log('No apparent changes since previous commit')
      if (!this.flags.quiet) this.note(`${result.ref} stays at ${result.commit}${result.version ? ` (version ${result.version})` : ''}`)
      return
    }
    this.log(result.commit)
    const {diff} = result
    this.note(
      [
        `ref:      ${result.ref}`,
        `commit:   ${result.commit}${result.parent ? ` (parent ${result.parent.slice(0, 12)})` : ''}`,
        ...(result.version ? [`version:  ${result.version}`] : []),
        `repo:     ${result.repo}`,
        `packages: ${result.packages.length} (${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed since the parent)`,
        `time:     ${Object.entries(result.timings).map(([stage, seconds]) => `${stage} ${seconds}s`).join(', ')}`,
      ].join('\n'),
    )
  }
}
