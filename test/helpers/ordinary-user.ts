import {execa} from 'execa'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {freeRangeStart, subordinateRange, TREE_IDS} from '../../src/sandbox/idmap.js'
import {repoRoot} from './cli.js'

/** An unprivileged account the test made, with subordinate ids, and a fresh clone of this checkout in its home. */
export interface OrdinaryUser {
  name: string
  home: string
  /** The clone, built: what a user gets with the README's commands. */
  checkout: string
  /** Run a command as the user in the clone (a clean environment: HOME, PATH, CI and EXTRA). */
  run: (command: string[], extra?: Record<string, string>) => Promise<UserRun>
  remove: () => Promise<void>
}

/** What a command run as the user did: its exit code and output. */
export interface UserRun {
  exitCode: number
  stdout: string
  /** stdout and stderr interleaved. */
  all: string
}

const asUser = (name: string, home: string, cwd: string) => async (command: string[], extra: Record<string, string> = {}): Promise<UserRun> => {
  const result = await execa('runuser', ['-u', name, '--', ...command], {cwd, reject: false, all: true, extendEnv: false, env: {HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin', CI: 'true', LANG: 'C.UTF-8', ...extra}})
  return {exitCode: result.exitCode ?? -1, stdout: result.stdout, all: result.all ?? ''}
}

/**
 * An ordinary user NAME (made if need be) with 65536 subordinate ids, as the
 * README tells root to give them, and a clone of this checkout's HEAD in its
 * home, built as the user. node_modules is copied from this checkout
 * instead of downloaded again: the same lock file.
 */
export async function ordinaryUser(name: string): Promise<OrdinaryUser> {
  if ((await execa('id', ['-u', name], {reject: false})).exitCode !== 0) await execa('useradd', ['--create-home', '--shell', '/bin/bash', name])
  const home = (await execa('getent', ['passwd', name])).stdout.split(':')[5]
  const ids = ['/etc/subuid', '/etc/subgid'].map((file) => (existsSync(file) ? readFileSync(file, 'utf8') : ''))
  const uid = Number((await execa('id', ['-u', name])).stdout)
  if (ids.some((text) => !subordinateRange(text, name, uid, TREE_IDS - 1))) {
    const start = freeRangeStart(ids)
    await execa('usermod', ['--add-subuids', `${start}-${start + TREE_IDS - 1}`, '--add-subgids', `${start}-${start + TREE_IDS - 1}`, name])
  }
  const checkout = path.join(home, 'apt-ostree')
  await execa('rm', ['-rf', checkout, path.join(home, '.cache')])
  await execa('git', ['clone', '--quiet', '--no-hardlinks', repoRoot, checkout])
  await execa('cp', ['-a', path.join(repoRoot, 'node_modules'), path.join(checkout, 'node_modules')])
  await execa('chown', ['-R', `${name}:`, checkout])
  const run = asUser(name, home, checkout)
  const built = await run(['npm', 'run', 'build'])
  if (built.exitCode !== 0) throw new Error(`npm run build as ${name} failed:\n${built.all}`)
  return {
    name,
    home,
    checkout,
    run,
    remove: async () => {
      await execa('pkill', ['-KILL', '-u', name], {reject: false})
      await execa('userdel', ['--remove', name], {reject: false})
      // userdel drops the ranges too on current shadow; older ones keep them.
      for (const file of ['/etc/subuid', '/etc/subgid']) {
        writeFileSync(file, readFileSync(file, 'utf8').split('\n').filter((line) => !line.startsWith(`${name}:`)).join('\n'))
      }
    },
  }
}
