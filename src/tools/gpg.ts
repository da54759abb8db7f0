import {ToolError} from '../errors.js'
import {run, type RunOptions} from './exec.js'

/**
 * KEYID's fingerprint when HOMEDIR (gpg's default without one) holds its
 * secret part, the part signing needs; else why not, as gpg says it.
 * Nothing is written to the keyring.
 */
export async function secretKey(keyId: string, homedir: string | undefined, options: RunOptions = {}): Promise<{fingerprint: string} | {problem: string}> {
  try {
    const {stdout} = await run('gpg', ['--batch', '--no-tty', '--with-colons', ...(homedir ? ['--homedir', homedir] : []), '--list-secret-keys', '--', keyId], {label: 'gpg --list-secret-keys', ...options})
    const lines = stdout.split('\n')
    const sec = lines.findIndex((line) => line.startsWith('sec:'))
    const fingerprint = lines.slice(sec + 1).find((line) => line.startsWith('fpr:'))?.split(':')[9]
    return sec !== -1 && fingerprint ? {fingerprint} : {problem: 'no secret key'}
  } catch (error) {
    if (!(error instanceof ToolError)) throw error
    return {problem: error.stderr.find((line) => /No secret key|not found|error reading key|No such file/i.test(line))?.replace(/^gpg: /, '') ?? 'no secret key'}
  }
}
