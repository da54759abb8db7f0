import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {PendingJobs} from '../../src/vm/jobs.js'
import {consoleText} from '../../src/vm/console.js'

// Serial consoles of real TCG boots (the systemd part, as QEMU wrote it): a
// bookworm boot that stalled after the login prompt, the boot of the same disk
// that reached multi-user.target, and a trixie boot that stalled.
function pendingAfter(fixture: string): string[] {
  const jobs = new PendingJobs()
  const console = readFileSync(path.join(import.meta.dirname, 'fixtures', fixture), 'utf8')
  for (const raw of console.split(/\r?\n/)) {
    const line = consoleText(raw)
    if (line) jobs.line(line)
  }
  return jobs.list()
}

describe('PendingJobs', () => {
  it('names the job a stalled boot waits for', () => {
    expect(pendingAfter('bookworm-stalled.console')).toEqual(['e2scrub_reap.serv…e ext4 Metadata Check Snapshots'])
    expect(pendingAfter('trixie-stalled.console')).toEqual(['getty-static.service - ge…bus and logind are not available'])
  })

  it('has nothing left once the target is reached', () => {
    expect(pendingAfter('bookworm-reached.console')).toEqual([])
  })

  it.each([
    ['an ellipsis cut one letter apart', 'Starting e2scrub_reap.serv…e ext4 Metadata Check Snapshots...', '[  OK  ] Finished e2scrub_reap.serv…ine ext4 Metadata Check Snapshots.'],
    ['a colour code cut by the ellipsis', 'Starting systemd-udev-trig…[0m - Coldplug All udev Devices...', '[  OK  ] Finished systemd-udev-trig…e - Coldplug All udev Devices.'],
    ['a short line and an ellipsized one', 'Starting systemd-logind.se…ice - User Login Management...', '[  OK  ] Started systemd-logind.service - User Login Management.'],
    ['a failure', 'Starting foo.service - Foo...', '[FAILED] Failed to start foo.service - Foo.'],
    ['a mount', 'Mounting tmp.mount - Temporary Directory /tmp...', '[  OK  ] Mounted tmp.mount - Temporary Directory /tmp.'],
  ])('matches the end of a job to its start: %s', (_, start, end) => {
    const jobs = new PendingJobs()
    jobs.line(consoleText(start))
    expect(jobs.list()).toHaveLength(1)
    jobs.line(consoleText(end))
    expect(jobs.list()).toEqual([])
  })

  it('keeps jobs with the same head apart by their tails', () => {
    const jobs = new PendingJobs()
    jobs.line('Starting systemd-tmpfiles-…te System Files and Directories...')
    jobs.line('Starting systemd-tmpfiles-…ate Static Device Nodes in /dev...')
    jobs.line('[  OK  ] Finished systemd-tmpfiles-…eate Static Device Nodes in /dev.')
    expect(jobs.list()).toEqual(['systemd-tmpfiles-…te System Files and Directories'])
  })
})
