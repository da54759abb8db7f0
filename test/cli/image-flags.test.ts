import {expect, test} from 'vitest'
import {parseImageOptions, type ImageFlagValues} from '../../src/cli/image-flags.js'
import {UsageError} from '../../src/errors.js'

const flags: ImageFlagValues = {'max-layers': 64, compression: 'gzip'}

test('--creds becomes the credentials skopeo is given, split at the first colon', async () => {
  const options = await parseImageOptions('docker://registry.example.com/debian/minimal:latest', {...flags, creds: 'robot:pa:ss', 'dest-tls-verify': false})
  expect(options.access).toEqual({tlsVerify: false, authfile: undefined, credentials: {username: 'robot', password: 'pa:ss'}})
})

// skopeo would ask for a missing password on a terminal, minutes into a
// compose; the message must not quote the value, which may be a password.
test('--creds without a password is refused before any work, without quoting it', async () => {
  const refused = parseImageOptions('docker://registry.example.com/debian/minimal:latest', {...flags, creds: 'hunter2'})
  await expect(refused).rejects.toBeInstanceOf(UsageError)
  await expect(refused).rejects.toThrow(/^--creds: expected USERNAME:PASSWORD, both not empty$/)
})
