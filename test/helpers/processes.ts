import {readdir, readFile, readlink} from 'node:fs/promises'

/** A process as /proc shows it; pid and start time together name it (a pid is reused). */
export interface ProcessInfo {
  pid: number
  startTime: string
  command: string
}

/** A live process's facts; undefined for one that is gone or a zombie (it ended, its parent has not reaped it yet). */
async function infoOf(pid: number): Promise<(ProcessInfo & {parent: number}) | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  if (!stat) return undefined
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined
  const command = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim()
  return {pid, parent: Number(fields[1]), startTime: fields[19], command}
}

async function allProcesses(): Promise<Array<ProcessInfo & {parent: number}>> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number)
  return (await Promise.all(pids.map(infoOf))).filter((info) => info !== undefined)
}

/** PID and every process below it now. */
export async function processTree(pid: number): Promise<ProcessInfo[]> {
  const processes = await allProcesses()
  const tree = new Set([pid])
  for (let grown = true; grown;) {
    grown = false
    for (const info of processes) {
      if (!tree.has(info.pid) && tree.has(info.parent)) {
        tree.add(info.pid)
        grown = true
      }
    }
  }
  return processes.filter((info) => tree.has(info.pid))
}

/**
 * Those of PROCESSES still running (the same pid with the same start time)
 * once they had time to go: a killed process tree exits within moments, a
 * leaked one stays. GRACE is a safety net for a loaded machine, not a measure.
 */
export function leftAfter(processes: ProcessInfo[], graceMs = 60_000): Promise<ProcessInfo[]> {
  return untilEmpty(() => stillRunning(processes), graceMs)
}

/** PROBE's findings once they are none, or whatever it still finds after GRACE. */
async function untilEmpty<T>(probe: () => Promise<T[]>, graceMs: number): Promise<T[]> {
  const deadline = Date.now() + graceMs
  for (;;) {
    const found = await probe()
    if (found.length === 0 || Date.now() > deadline) return found
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** Those of PROCESSES still running now (the same pid with the same start time). */
export async function stillRunning(processes: ProcessInfo[]): Promise<ProcessInfo[]> {
  const now = await Promise.all(processes.map((info) => infoOf(info.pid)))
  return processes.filter((info, index) => now[index]?.startTime === info.startTime)
}

/**
 * Processes that name MARKER (a test's own temporary directory) in their
 * command line, working directory or mounts: what a test started, even
 * inside a sandbox's namespaces, and nothing else on a shared machine;
 * those on their way out are given GRACE to go.
 */
export function processesMentioning(marker: string, graceMs = 60_000): Promise<ProcessInfo[]> {
  return untilEmpty(() => mentioning(marker), graceMs)
}

async function mentioning(marker: string): Promise<ProcessInfo[]> {
  const found: ProcessInfo[] = []
  for (const info of await allProcesses()) {
    if (info.pid === process.pid) continue
    const cwd = await readlink(`/proc/${info.pid}/cwd`).catch(() => '')
    const mounts = await readFile(`/proc/${info.pid}/mountinfo`, 'utf8').catch(() => '')
    if (info.command.includes(marker) || cwd.includes(marker) || mounts.includes(marker)) found.push(info)
  }
  return found
}

/** Poll CONDITION until it holds; TIMEOUT is a safety net against a hang, never a measure. */
export async function waitUntil<T>(what: string, condition: () => Promise<T | undefined | false>, timeoutMs = 20 * 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await condition()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}
