import {run, type RunOptions} from './exec.js'

/**
 * Check a clearsigned file (an InRelease) against KEYRING, as apt will:
 * true when a key of the keyring made a good signature. gpgv's stderr says
 * why not, for the message.
 */
export async function verifyClearsigned(file: string, keyring: string, options: RunOptions): Promise<{good: boolean; reason: string}> {
  try {
    await run('gpgv', ['--keyring', keyring, file], {label: 'gpgv', ...options})
    return {good: true, reason: ''}
  } catch (error) {
    const stderr = (error as {stderr?: string[]}).stderr ?? []
    if (stderr.length === 0) throw error
    const reason = stderr.find((line) => /NO_PUBKEY|public key|BAD signature|no valid OpenPGP data|not a detached|Can't check signature/i.test(line)) ?? stderr.at(-1) ?? 'no good signature'
    return {good: false, reason: reason.replace(/^gpgv: /, '')}
  }
}
