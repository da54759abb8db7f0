import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {composeFlags, packageLock} from '../../cli/compose-flags.js'
import {captureArchive} from '../../compose/capture.js'
import {loadTreefile} from '../../treefile/index.js'

export default class ComposeFetch extends BaseCommand<typeof ComposeFetch> {
  static summary = 'Capture exactly what a lockfile names as an apt archive a compose can read offline.'
  static description = 'Writes each repo suite\'s InRelease as published (signature intact), its whole Packages indices and the locked .debs, laid out as an apt archive. `compose tree --archive-dir DIR` then reads every repo from it with no network and gives the commit of the original compose. The locked InRelease comes from the archive while it is current, else from the cache dir that composed the lockfile.'
  static examples = [
    '<%= config.bin %> compose tree treefiles/debian-trixie-minimal.yaml --write-lockfile-to out/lock.json',
    '<%= config.bin %> <%= command.id %> treefiles/debian-trixie-minimal.yaml --lockfile out/lock.json -o out/archive',
    '<%= config.bin %> compose tree treefiles/debian-trixie-minimal.yaml --archive-dir out/archive',
  ]

  static args = {treefile: Args.string({description: 'Treefile (YAML or JSON).', required: true})}
  static flags = {
    lockfile: Flags.string({description: 'The lockfile whose packages to capture (repeatable; the later file wins).', multiple: true, required: true}),
    output: Flags.string({char: 'o', description: 'Directory the archive goes to (new or empty).', required: true}),
    arch: composeFlags.arch,
    cachedir: composeFlags.cachedir,
  }

  async run(): Promise<unknown> {
    const {args} = await this.parse(ComposeFetch)
    const {flags} = this
    const resolved = await loadTreefile(args.treefile, {arch: flags.arch})
    const lock = (await packageLock({lockfile: flags.lockfile, 'lockfile-strict': false}))!
    const result = await captureArchive({resolved, lock, output: flags.output, cacheDir: flags.cachedir}, (message) => this.note(`warning: ${message}`), (line) => this.note(line))
    if (!this.jsonEnabled()) this.log(`${result.directory}: ${result.suites} suites, ${result.packages} packages, ${(result.bytes / 1e6).toFixed(1)} MB`)
    return result
  }
}
