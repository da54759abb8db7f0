import {execa} from 'execa'

/** Read-only looks into a repo with the host's ostree, as a user would check a commit. */
export class RepoReader {
  constructor(
    readonly repo: string,
    readonly ref: string,
  ) {}

  private async ostree(args: string[]): Promise<string> {
    return (await execa('ostree', [`--repo=${this.repo}`, ...args], {stripFinalNewline: false})).stdout
  }

  /** `ostree ls` of one path: mode string, or undefined when absent. */
  async stat(path: string): Promise<{mode: string; target?: string} | undefined> {
    const result = await execa('ostree', [`--repo=${this.repo}`, 'ls', '-d', this.ref, path], {reject: false})
    if (result.exitCode !== 0) return undefined
    const fields = result.stdout.trim().split(/\s+/)
    return {mode: fields[0], target: fields.includes('->') ? fields.at(-1) : undefined}
  }

  async list(path: string): Promise<string[]> {
    const out = await this.ostree(['ls', this.ref, path])
    return out.trim().split('\n').slice(1).map((line) => line.trim().split(/\s+/)[4]).filter(Boolean)
  }

  cat(path: string): Promise<string> {
    return this.ostree(['cat', this.ref, path])
  }

  async metadata(key: string): Promise<string> {
    return (await this.ostree(['show', this.ref, `--print-metadata-key=${key}`])).trim()
  }

  async revParse(): Promise<string | undefined> {
    const result = await execa('ostree', [`--repo=${this.repo}`, 'rev-parse', this.ref], {reject: false})
    return result.exitCode === 0 ? result.stdout.trim() : undefined
  }
}

/**
 * `ostree fsck` of REPO: every object read back and checked against its
 * checksum. Its output when it finds a problem (it exits non-zero).
 */
export async function fsckProblems(repo: string): Promise<string | undefined> {
  const result = await execa('ostree', [`--repo=${repo}`, 'fsck', '--all'], {reject: false, all: true})
  return result.exitCode === 0 ? undefined : result.all
}
