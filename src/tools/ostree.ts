import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {ToolError} from '../errors.js'
import {canonicalJson} from '../hash.js'
import {pathExists} from '../fs.js'
import {run, type CommandRunner, type RunOptions} from './exec.js'

/** The host's ostree, for repository operations (the target's own ostree runs in the tree). */
export class OstreeRepo {
  /**
   * The repo at PATH (on the host). With VIA, ostree runs through VIA's
   * runner, where the repo is at VIA's path: a repo the sandbox writes (the
   * staging repo) is changed only from inside it, so every file in it has
   * the owners it expects; the host reads it where it is. Such a job is
   * granted the repo (and what OPTIONS grant besides).
   */
  constructor(
    readonly path: string,
    private readonly via?: {runner: CommandRunner; path: string},
  ) {}

  private ostree(args: string[], options: RunOptions = {}): Promise<{stdout: string}> {
    const labelled = {label: `ostree ${args[0]}`, ...options}
    if (this.via) return this.via.runner.run(['ostree', ...args, `--repo=${this.via.path}`], {...labelled, grant: {...options.grant, write: [this.path, ...(options.grant?.write ?? [])]}})
    return run('ostree', [...args, `--repo=${this.path}`], labelled)
  }

  async exists(): Promise<boolean> {
    return pathExists(path.join(this.path, 'config'))
  }

  async init(mode: 'archive' | 'bare-user', options: RunOptions = {}): Promise<void> {
    await this.ostree(['init', `--mode=${mode}`], options)
  }

  /** The repo's mode from its config (archive-z2 for archive, bare-user, bare, ...). */
  async mode(): Promise<string> {
    const config = await readFile(path.join(this.path, 'config'), 'utf8')
    return /^mode\s*=\s*(\S+)/m.exec(config)?.[1] ?? 'bare'
  }

  /**
   * Copy a commit and its objects from another local repo, checking each
   * object's checksum as it comes (--untrusted): a damaged object in SOURCE
   * fails the pull instead of landing here.
   */
  async pullLocal(source: string, commit: string, options: RunOptions = {}): Promise<void> {
    await this.ostree(['pull-local', '--untrusted', source, commit], options)
  }

  /** Check every object of the repo against its checksum: what is wrong, one line each; none when the repo is sound. */
  async fsck(options: RunOptions = {}): Promise<string[]> {
    try {
      await this.ostree(['fsck'], options)
      return []
    } catch (error) {
      if (!(error instanceof ToolError)) throw error
      const problems = error.stderr.filter((line) => /corrupt|missing|partial/i.test(line))
      return problems.length > 0 ? problems : error.stderr.slice(-1)
    }
  }

  /** Whether the repo holds the whole commit (not a partial one, some of whose objects are missing). */
  async hasWholeCommit(commit: string): Promise<boolean> {
    return (await this.hasCommit(commit)) && !(await pathExists(path.join(this.path, 'state', `${commit}.commitpartial`)))
  }

  /** Check a commit out into DESTINATION as plain files, never hard links into the repo (the tree is edited in place). */
  async checkout(commit: string, destination: string, options: RunOptions = {}): Promise<void> {
    await this.ostree(['checkout', '--force-copy', commit, destination], options)
  }

  /** The refs that start with PREFIX (every ref for ''). */
  async refs(prefix: string, options: RunOptions = {}): Promise<string[]> {
    const {stdout} = await this.ostree(['refs', ...(prefix ? [prefix.replace(/\/$/, '')] : [])], options)
    return stdout.split('\n').filter(Boolean).map((ref) => (ref.startsWith(prefix) ? ref : path.posix.join(prefix, ref)))
  }

  /** Delete a ref (its objects go at the next prune). */
  async deleteRef(ref: string, options: RunOptions = {}): Promise<void> {
    await this.ostree(['refs', '--delete', ref], options)
  }

  /** Delete objects no ref reaches. */
  async prune(options: RunOptions = {}): Promise<void> {
    await this.ostree(['prune', '--refs-only'], options)
  }

  /** The commit a ref points at, or undefined when the ref does not exist. */
  async resolve(ref: string): Promise<string | undefined> {
    try {
      return (await this.ostree(['rev-parse', ref])).stdout.trim()
    } catch (error) {
      if (error instanceof ToolError) return undefined
      throw error
    }
  }

  /** Whether the repo holds the commit object (rev-parse accepts any checksum). */
  async hasCommit(commit: string): Promise<boolean> {
    return pathExists(path.join(this.path, 'objects', commit.slice(0, 2), `${commit.slice(2)}.commit`))
  }

  /** Whether a path exists in a commit. */
  async hasPath(commit: string, file: string): Promise<boolean> {
    try {
      await this.ostree(['ls', '-d', commit, file])
      return true
    } catch (error) {
      if (error instanceof ToolError) return false
      throw error
    }
  }

  /** A file of a commit's tree as text, or undefined when the commit has no such file. */
  async readText(commit: string, file: string): Promise<string | undefined> {
    try {
      return (await this.ostree(['cat', commit, file])).stdout
    } catch (error) {
      if (error instanceof ToolError) return undefined
      throw error
    }
  }

  /** One metadata value of a commit as GVariant text, or undefined when absent. */
  async metadata(commit: string, key: string): Promise<string | undefined> {
    try {
      return (await this.ostree(['show', commit, `--print-metadata-key=${key}`])).stdout.trim()
    } catch (error) {
      if (error instanceof ToolError) return undefined
      throw error
    }
  }

  /** A string or string-array metadata value of a commit; [] when absent. */
  async metadataStrings(commit: string, key: string): Promise<string[]> {
    return parseGvariantStrings((await this.metadata(commit, key)) ?? '')
  }

  /** A commit's timestamp, in seconds since the epoch. */
  async timestamp(commit: string): Promise<number> {
    const {stdout} = await this.ostree(['show', commit])
    const date = /^Date:\s+(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) ([+-]\d{4})$/m.exec(stdout)
    if (!date) throw new ToolError('ostree', `ostree show ${commit} printed no date`, stdout.split('\n'))
    return Date.parse(`${date[1]}T${date[2]}${date[3].slice(0, 3)}:${date[3].slice(3)}`) / 1000
  }

  /** Commit a directory tree; returns the checksum. No ref moves unless `branch` is given. */
  async commit(commit: CommitOptions, options: RunOptions = {}): Promise<string> {
    const args = [
      `--tree=dir=${commit.tree}`,
      ...(commit.timestamp === undefined ? [] : [`--timestamp=@${commit.timestamp}`]),
      ...(commit.branch ? [`--branch=${commit.branch}`] : ['--orphan']),
      ...(commit.parent ? [`--parent=${commit.parent}`] : []),
      ...(commit.bindRef ? [`--bind-ref=${commit.bindRef}`] : []),
      ...(commit.subject ? [`--subject=${commit.subject}`] : []),
      ...Object.entries(commit.metadata ?? {}).map(([key, value]) => metadataArgument(key, value)),
    ]
    return (await this.ostree(['commit', ...args], options)).stdout.trim()
  }

  /** Sign a commit with KEYID's secret key from HOMEDIR: a detached signature in the commit's .commitmeta, one more for each call. */
  async gpgSign(commit: string, signing: {keyId: string; homedir?: string}, options: RunOptions = {}): Promise<void> {
    await this.ostree(['gpg-sign', ...gpgHomedirArgs(signing), commit, signing.keyId], options)
  }

  /** The key ids (16 hex digits, upper case) of the GPG signatures a commit carries, good or not. */
  async gpgSignatureKeys(commit: string, options: RunOptions = {}): Promise<string[]> {
    const {stdout} = await this.ostree(['show', commit], options)
    return [...stdout.matchAll(/using \S+ key ID ([0-9A-F]{16})/g)].map((match) => match[1])
  }

  /** Sign a commit with an ed25519 secret key file (ostree built with sign-ed25519 only). */
  async ed25519Sign(commit: string, keyFile: string, options: RunOptions = {}): Promise<void> {
    await this.ostree(['sign', '--sign-type=ed25519', `--keys-file=${keyFile}`, commit], options)
  }

  /** Regenerate the summary file (refs and their commits, what clients list and check), signed when a key is given. */
  async updateSummary(signing: {gpg?: {keyId: string; homedir?: string}; ed25519KeyFile?: string}, options: RunOptions = {}): Promise<void> {
    const sign = signing.gpg ? [`--gpg-sign=${signing.gpg.keyId}`, ...gpgHomedirArgs(signing.gpg)] : signing.ed25519KeyFile ? ['--sign-type=ed25519', `--sign-from-file=${signing.ed25519KeyFile}`] : []
    await this.ostree(['summary', '--update', ...sign], options)
  }

  /** The repo's static deltas as [from, to] (from undefined for a delta from nothing). */
  async staticDeltas(options: RunOptions = {}): Promise<Array<{name: string; from?: string; to: string}>> {
    const {stdout} = await this.ostree(['static-delta', 'list'], options)
    return stdout.split('\n').filter((line) => /^[0-9a-f]{64}(-[0-9a-f]{64})?$/.test(line)).map((name) => {
      const [first, second] = name.split('-')
      return second === undefined ? {name, to: first} : {name, from: first, to: second}
    })
  }

  /** A static delta FROM → TO: what a client pulls over HTTP instead of each object. */
  async generateStaticDelta(from: string, to: string, options: RunOptions = {}): Promise<void> {
    await this.ostree(['static-delta', 'generate', `--from=${from}`, `--to=${to}`], options)
  }

  async deleteStaticDelta(name: string, options: RunOptions = {}): Promise<void> {
    await this.ostree(['static-delta', 'delete', name], options)
  }

  /** The host ostree's build features (`ostree --version`): gpgme, sign-ed25519, ... */
  static async features(options: RunOptions = {}): Promise<{version: string; features: string[]}> {
    const {stdout} = await run('ostree', ['--version'], {label: 'ostree --version', ...options})
    return {version: /Version: '([^']+)'/.exec(stdout)?.[1] ?? 'unknown', features: [...stdout.matchAll(/^\s+- (\S+)$/gm)].map((match) => match[1])}
  }

  /** Point `ref` at `commit` (after the whole compose succeeded). */
  async setRef(ref: string, commit: string, options: RunOptions = {}): Promise<void> {
    await this.ostree(['refs', '--force', `--create=${ref}`, commit], options)
  }

}

function gpgHomedirArgs(signing: {homedir?: string}): string[] {
  return signing.homedir ? [`--gpg-homedir=${signing.homedir}`] : []
}

export interface CommitOptions {
  tree: string
  /** Seconds since the epoch. */
  timestamp?: number
  /** Move this ref to the commit; without it the commit is an orphan. */
  branch?: string
  parent?: string
  /** The ref the commit is meant for (ostree.ref-binding), checked by clients that pull it. */
  bindRef?: string
  subject?: string
  /** Strings, booleans and string lists keep their type; anything else is stored as canonical JSON text. */
  metadata?: Record<string, unknown>
}

function metadataArgument(key: string, value: unknown): string {
  if (typeof value === 'string') return `--add-metadata-string=${key}=${value}`
  if (typeof value === 'boolean') return `--add-metadata=${key}=${value}`
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    return `--add-metadata=${key}=@as [${value.map(gvariantString).join(', ')}]`
  }
  // Numbers and structures: as JSON text, which every reader can parse.
  return `--add-metadata-string=${key}=${canonicalJson(value)}`
}

/** A GVariant text string: 'it''s' style quoting is not GVariant's; backslash-escape. */
export function gvariantString(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
}

/** Parse a GVariant text string or array of strings, as `ostree show` prints them. */
export function parseGvariantStrings(text: string): string[] {
  const strings: string[] = []
  for (const match of text.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)) {
    strings.push((match[1] ?? match[2]).replace(/\\(.)/g, '$1'))
  }
  return strings
}
