import {expect, test} from 'vitest'
import {toolCodeDigest} from '../src/version.js'

test("the tool's code digest is a sha256, the same on every call", async () => {
  const digest = await toolCodeDigest()
  expect(digest).toMatch(/^[0-9a-f]{64}$/)
  expect(await toolCodeDigest()).toBe(digest)
})
