#!/usr/bin/env node
// The CLI straight from its TypeScript sources (tsx compiles them as they
// load): what the unit tests run, so they need no build. oclif reads
// oclif.manifest.json, which names the built files, unless its version
// differs from the package's: a development version makes it list the
// commands from src/ (and oclif's warning about the mismatch is expected).
import {readFileSync} from 'node:fs'
import {register} from 'tsx/esm/api'

register()
const emitWarning = process.emitWarning.bind(process)
process.emitWarning = (warning, ...rest) => (String(warning).startsWith('Mismatched version in apt-ostree plugin manifest') ? undefined : emitWarning(warning, ...rest))
const {execute} = await import('@oclif/core')
const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
pjson.version = '0.0.0-development'
pjson.oclif.commands = './src/commands'
await execute({dir: import.meta.url, loadOptions: {root: new URL('..', import.meta.url).pathname, pjson}})
