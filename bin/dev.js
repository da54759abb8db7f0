#!/usr/bin/env node
// The CLI straight from its TypeScript sources: what the unit tests run, so they need no build.
import {sourceLoadOptions} from './sources.js'

const loadOptions = sourceLoadOptions()
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url, loadOptions})
