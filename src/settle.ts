/**
 * Promise.all that waits for every job before it rejects. A job that is
 * still running when another fails goes on writing into the work dir and
 * holding its child processes; cleanup that starts then races it (measured:
 * a compose whose first InRelease fetch failed removed its work dir while a
 * second fetch still wrote there, and never exited). Rejects with the first
 * failure in the order given.
 */
export async function allSettledOrFirstFailure<T extends readonly unknown[] | []>(jobs: T): Promise<{-readonly [K in keyof T]: Awaited<T[K]>}> {
  const results = await Promise.allSettled(jobs)
  const failure = results.find((result) => result.status === 'rejected') as PromiseRejectedResult | undefined
  if (failure) throw failure.reason
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as {-readonly [K in keyof T]: Awaited<T[K]>}
}
