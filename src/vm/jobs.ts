/**
 * The systemd jobs a boot console shows as begun but not ended: what a boot
 * that never reaches its target is waiting for.
 *
 * systemd writes "Starting UNIT - DESCRIPTION..." when a job begins and
 * "[  OK  ] Started|Finished UNIT - DESCRIPTION." (or "[FAILED] Failed to
 * start ...") when it ends. Each line is ellipsized in the middle to the
 * console's width, and the two lines have different room ("Started" is one
 * letter shorter), so the same job reads "e2scrub_reap.serv…e ext4 Metadata
 * Check Snapshots" in one and "e2scrub_reap.serv…ine ext4 Metadata Check
 * Snapshots" in the other: a job is matched on its head before the "…" and
 * its tail after it, either one cut shorter than the other.
 */
export class PendingJobs {
  private readonly begun: string[] = []

  /** Feed one console line, as consoleText cleans it. */
  public line(line: string): void {
    const beginning = /^(?:Starting|Mounting|Activating|Stopping|Unmounting) (.+?)\.\.\.$/.exec(line)
    if (beginning) {
      this.begun.push(beginning[1])
      return
    }
    const ending = /^\[[^\]]+\] (?:Started|Finished|Mounted|Activated|Stopped|Unmounted|Failed to start|Failed to mount|Dependency failed for) (.+?)\.?$/.exec(line)
    if (!ending) return
    const index = this.begun.findIndex((job) => sameJob(job, ending[1]))
    if (index !== -1) this.begun.splice(index, 1)
  }

  /** The jobs begun and not ended, in the order they began. */
  public list(): string[] {
    return [...this.begun]
  }
}

function sameJob(a: string, b: string): boolean {
  const [headA, tailA = headA] = a.split('…')
  const [headB, tailB = headB] = b.split('…')
  const headsAgree = headA.startsWith(headB) || headB.startsWith(headA)
  const tailsAgree = tailA.endsWith(tailB) || tailB.endsWith(tailA)
  return headsAgree && tailsAgree
}
