// How the CLI runs from its TypeScript sources (tsx compiles them as they
// load): bin/dev.js and the unit tests' in-process runner. oclif reads
// oclif.manifest.json, which names the built files, unless its version
// differs from the package's: a development version makes it list the
// commands from src/, and its warning about the mismatch is expected.
import {readFileSync} from 'node:fs'
import {register} from 'tsx/esm/api'

const root = new URL('..', import.meta.url).pathname

/** Register tsx, quiet oclif's manifest warning, and return oclif's load options for the sources. */
export function sourceLoadOptions() {
  register()
  if (!process.emitWarning.quietManifest) {
    const emitWarning = process.emitWarning.bind(process)
    process.emitWarning = Object.assign((warning, ...rest) => (String(warning).startsWith('Mismatched version in apt-ostree plugin manifest') ? undefined : emitWarning(warning, ...rest)), {quietManifest: true})
  }
  const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  pjson.version = '0.0.0-development'
  pjson.oclif.commands = './src/commands'
  return {root, pjson}
}
