import {execa} from 'execa'
import {mkdirSync} from 'node:fs'
import path from 'node:path'

/** A GPG key made for a test: its homedir (with the secret part), fingerprint, and armored public key. */
export interface TestKey {
  homedir: string
  fingerprint: string
  publicKey: string
  /** Stop the gpg-agent the homedir started (the test's own, no other). */
  dispose: () => Promise<void>
}

/** A signing key without passphrase in DIRECTORY/NAME (ed25519: made in milliseconds). */
export async function makeTestKey(directory: string, name: string): Promise<TestKey> {
  const homedir = path.join(directory, name)
  mkdirSync(homedir, {recursive: true, mode: 0o700})
  await execa('gpg', ['--homedir', homedir, '--batch', '--passphrase', '', '--quick-gen-key', `${name} <${name}@example.invalid>`, 'ed25519', 'sign', 'never'])
  const {stdout} = await execa('gpg', ['--homedir', homedir, '--with-colons', '--list-secret-keys'])
  const fingerprint = stdout.split('\n').find((line) => line.startsWith('fpr:'))!.split(':')[9]
  const publicKey = (await execa('gpg', ['--homedir', homedir, '--armor', '--export', fingerprint])).stdout + '\n'
  return {homedir, fingerprint, publicKey, dispose: async () => void (await execa('gpgconf', ['--homedir', homedir, '--kill', 'gpg-agent'], {reject: false}))}
}
