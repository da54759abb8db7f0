/** Seconds since START (a performance.now() value), to a tenth: how stages and boots report their time. */
export function secondsSince(start: number): number {
  return Math.round((performance.now() - start) / 100) / 10
}
