import {expect, test} from 'vitest'
import {allSettledOrFirstFailure} from '../src/settle.js'

test('gives every value in order when all succeed', async () => {
  const [number, text] = await allSettledOrFirstFailure([Promise.resolve(1), Promise.resolve('two')])
  expect([number, text]).toEqual([1, 'two'])
})

test('rejects with the first failure in order, only once every job has ended', async () => {
  const ended: string[] = []
  const job = (name: string, ms: number, fail: boolean): Promise<string> =>
    new Promise((resolve, reject) =>
      setTimeout(() => {
        ended.push(name)
        if (fail) reject(new Error(name))
        else resolve(name)
      }, ms),
    )
  // The fast failure must not reject before the slow job ended.
  await expect(allSettledOrFirstFailure([job('slow', 50, false), job('second', 20, true), job('fast', 0, true)])).rejects.toThrow('second')
  expect(ended.sort()).toEqual(['fast', 'second', 'slow'])
})
