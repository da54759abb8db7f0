import {readdirSync} from 'node:fs'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {repoRoot} from './cli.js'

/** What the tests check of a command: its flags (with their letters and --no- forms) and its examples. */
export interface CommandFacts {
  examples: string[]
  flags: Record<string, {char?: string; allowNo?: boolean}>
}

interface CommandClass {
  examples?: string[]
  flags?: Record<string, {char?: string; allowNo?: boolean}>
  baseFlags?: Record<string, {char?: string; allowNo?: boolean}>
  enableJsonFlag?: boolean
}

function commandFiles(directory: string): string[] {
  return readdirSync(directory, {withFileTypes: true}).flatMap((entry) => {
    const file = path.join(directory, entry.name)
    return entry.isDirectory() ? commandFiles(file) : entry.name.endsWith('.ts') ? [file] : []
  })
}

/**
 * Every command of src/commands by id (`compose:tree`), read from the
 * classes themselves: what oclif's manifest would say, without a build.
 */
export async function commandFacts(): Promise<Record<string, CommandFacts>> {
  const directory = path.join(repoRoot, 'src/commands')
  const facts: Record<string, CommandFacts> = {}
  for (const file of commandFiles(directory)) {
    const id = path.relative(directory, file).replace(/\.ts$/, '').split(path.sep).join(':')
    const command = ((await import(pathToFileURL(file).href)) as {default: CommandClass}).default
    const flags: Record<string, {char?: string; allowNo?: boolean}> = {...command.baseFlags, ...command.flags, ...(command.enableJsonFlag ? {json: {}} : {})}
    facts[id] = {examples: command.examples ?? [], flags: Object.fromEntries(Object.entries(flags).map(([name, flag]) => [name, {char: flag.char, allowNo: flag.allowNo}]))}
  }
  return facts
}
