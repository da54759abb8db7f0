import {FAILED_UNITS, guestUnitFiles, reportedFailedUnits, sayFunction, type GuestFile} from './guest-report.js'

/**
 * What `vm upgrade` puts into the throwaway deployment's /etc (never into
 * the image): a unit that runs once the machine reached multi-user.target,
 * and its script. The script reports through the kernel log
 * (guest-report.ts) in lines
 * `apt-ostree-upgrade-check: KEY=VALUE ...` and moves the machine along:
 *
 *   boot 1, 3, ... (REV): note what runs; on boot 1 change an /etc file
 *     and write /var data; point the remote at the update disk; `ostree
 *     admin upgrade`; reboot.
 *   boot 2, 4, ... (REF): note what runs and whether the /etc change and the
 *     /var data are still there; `ostree admin set-default 1`; reboot.
 *   the last boot (REV again): note what runs; power off.
 *
 * The boot count lives in /var, which every deployment shares. QEMU runs
 * with -no-reboot, so every reboot ends one QEMU run.
 */

export const CHECK_PREFIX = 'apt-ostree-upgrade-check:'
/** The file system label of the disk holding the repo. */
export const UPDATES_LABEL = 'apt-ostree-upd'
/** The line a locally changed /etc file gets: the upgrade must keep it. */
const LOCAL_LINE = 'apt-ostree-upgrade-check: a local change'

/** The script, for CYCLES upgrade-and-rollback cycles. Nothing from the image or the treefile is in it. */
function checkScript(cycles: number): string {
  return `#!/bin/sh
# apt-ostree vm upgrade's check (see the unit); it runs as root on a test machine.
set -u
${sayFunction(CHECK_PREFIX)}
state=/var/lib/apt-ostree-upgrade-check
mkdir -p "$state"
boot=$(( $(cat "$state/boots" 2>/dev/null || echo 0) + 1 ))
echo "$boot" > "$state/boots"
booted=$(ostree admin status | sed -n 's/^\\* [^ ]* \\([0-9a-f]\\{64\\}\\)\\..*/\\1/p')
${FAILED_UNITS}
say "boot=$boot booted=$booted failed=\${failed:-none}"
journalctl -b -p err -q -o short-monotonic --no-pager | head -n 20 | while IFS= read -r line; do say "err=$line"; done
now() { cut -d' ' -f1 /proc/uptime; }
if [ "$boot" -ge ${2 * cycles + 1} ]; then
  say "done=yes"
  systemctl poweroff
  exit 0
fi
if [ $((boot % 2)) -eq 1 ]; then
  if [ "$boot" -eq 1 ]; then
    echo '${LOCAL_LINE}' >> /etc/issue
    echo data > "$state/data"
  fi
  remote=$(sed -n 's/^refspec=\\([A-Za-z0-9._-]*\\):.*/\\1/p' /ostree/deploy/*/deploy/"$booted".*.origin | head -n 1)
  conf="/etc/ostree/remotes.d/$remote.conf"
  mkdir -p /run/apt-ostree-updates
  mount -o ro LABEL=${UPDATES_LABEL} /run/apt-ostree-updates || say "mount=failed"
  if [ -n "$remote" ] && [ -f "$conf" ]; then
    sed -i 's|^url=.*|url=file:///run/apt-ostree-updates|' "$conf"
  else
    say "remote=missing origin-remote=$remote"
  fi
  start=$(now)
  ostree admin upgrade > "$state/upgrade.log" 2>&1
  status=$?
  say "upgrade-exit=$status upgrade-start=$start upgrade-end=$(now)"
  tail -n 5 "$state/upgrade.log" | while IFS= read -r line; do say "upgrade-output=$line"; done
else
  grep -qxF '${LOCAL_LINE}' /etc/issue && etc=kept || etc=lost
  [ -f "$state/data" ] && var=kept || var=lost
  say "etc=$etc var=$var"
  start=$(now)
  ostree admin set-default 1 > "$state/rollback.log" 2>&1
  status=$?
  say "rollback-exit=$status rollback-start=$start rollback-end=$(now)"
  tail -n 5 "$state/rollback.log" | while IFS= read -r line; do say "rollback-output=$line"; done
fi
systemctl reboot
`
}

/** The files to add under the deployment's /etc. */
export function checkFiles(cycles: number): GuestFile[] {
  return guestUnitFiles('apt-ostree-upgrade-check', 'apt-ostree vm upgrade check', 'multi-user.target', checkScript(cycles))
}

/**
 * The failed units of the check's first line of a boot (`boot=N ... failed=...`),
 * or undefined for any other line. The check runs after multi-user.target, so
 * that line means the target was reached.
 */
export function checkReport(line: string): string[] | undefined {
  return reportedFailedUnits(`${CHECK_PREFIX} boot=`, line)
}

/** One boot's report lines, as KEY → values (err, upgrade-output and rollback-output repeat). */
export function parseCheckLines(lines: string[]): Map<string, string[]> {
  const fields = new Map<string, string[]>()
  for (const line of lines) {
    const at = line.indexOf(CHECK_PREFIX)
    if (at === -1) continue
    const rest = line.slice(at + CHECK_PREFIX.length).trim()
    // Lines that carry text (err=, *-output=) hold one field; the others several KEY=VALUE words.
    const single = /^(err|upgrade-output|rollback-output)=/.exec(rest)
    const pairs = single ? [[single[1], rest.slice(single[0].length)]] : rest.split(/\s+/).map((word) => [word.split('=')[0], word.slice(word.indexOf('=') + 1)])
    for (const [key, value] of pairs) fields.set(key, [...(fields.get(key) ?? []), value])
  }
  return fields
}
