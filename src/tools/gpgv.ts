import {readFile, rm} from 'node:fs/promises'
import {run, type RunOptions} from './exec.js'

/** What gpgv made of a clearsigned file: the text a good signature covers, or why there is none. */
export type Verdict = {good: true; signed: string} | {good: false; reason: string}

/** gpgv's status keywords (doc/DETAILS in GnuPG) that say why a signature is no good, the first found named. */
const FAILURES: Array<[keyword: string, says: (key: string) => string]> = [
  ['BADSIG', (key) => `BAD signature by key ${key}`],
  ['REVKEYSIG', (key) => `signed by key ${key}, which is revoked`],
  ['EXPKEYSIG', (key) => `signed by key ${key}, which has expired`],
  ['EXPSIG', (key) => `the signature by key ${key} has expired`],
  ['NO_PUBKEY', (key) => `signed by key ${key}, which the keyring lacks`],
  ['ERRSIG', (key) => `the signature by key ${key} cannot be checked`],
  ['NODATA', () => 'no OpenPGP signature in it'],
]

/**
 * Check a clearsigned file (an InRelease) against KEYRING, as apt does:
 * good when gpgv succeeds and a key of the keyring made a good signature
 * (GOODSIG and VALIDSIG on its status output, no BADSIG). gpgv writes the
 * text it checked to FILE.signed: that text, not the file, is what the
 * signature covers (the file may hold more around it).
 */
export async function verifyClearsigned(file: string, keyring: string, options: RunOptions): Promise<Verdict> {
  const output = `${file}.signed`
  const status: string[][] = []
  const onLine = (line: string): void => {
    if (line.startsWith('[GNUPG:] ')) status.push(line.slice('[GNUPG:] '.length).split(' '))
    else options.onLine?.(line)
  }
  await rm(output, {force: true})
  let succeeded = true
  try {
    await run('gpgv', ['--status-fd', '1', '--output', output, '--keyring', keyring, file], {label: 'gpgv', ...options, onLine})
  } catch (error) {
    // No status at all: gpgv did not run (not installed, interrupted).
    if (status.length === 0) throw error
    succeeded = false
  }
  const said = (keyword: string): string[] | undefined => status.find(([each]) => each === keyword)
  if (succeeded && said('GOODSIG') && said('VALIDSIG') && !said('BADSIG')) return {good: true, signed: await readFile(output, 'utf8')}
  for (const [keyword, says] of FAILURES) {
    const found = said(keyword)
    if (found) return {good: false, reason: says(found[1] ?? '')}
  }
  return {good: false, reason: 'no good signature'}
}
