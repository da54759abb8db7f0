import {mkdir, rm, symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {UsageError} from '../errors.js'
import type {Workspace} from '../workspace.js'
import type {Deployment} from './deploy.js'

/**
 * The tool's own units in a test machine (vm boot's report, vm upgrade's
 * check) live in the throwaway deployment's /etc, never in the image. They
 * run once the machine reached its target and write lines `PREFIX
 * KEY=VALUE ...` to the kernel log, which the kernel prints on the serial
 * console itself. What goes to /dev/console instead (systemd's status lines
 * among it) passes the terminal's output queue, and around the serial
 * getty's start that was lost: on bookworm under software emulation the
 * journal said "Reached target multi-user.target" at 56.3 s, and the
 * console never showed that line, nor the two units finished before it.
 */

/** A file to add under the deployment's /etc: relative path and content, or a link target. */
export interface GuestFile {
  path: string
  content?: string
  link?: string
}

/** The kernel takes at most 992 bytes per /dev/kmsg write and refuses a longer one whole. */
const KMSG_TEXT_MAX = 900

/** Shell: `say TEXT...` writes one report line, at notice level, to the kernel log. */
export function sayFunction(prefix: string): string {
  return `say() { printf '<5>${prefix} %.${KMSG_TEXT_MAX}s\\n' "$*" > /dev/kmsg; }`
}

/** Shell: the units systemd lists as failed, comma-separated, in $failed. */
export const FAILED_UNITS = `failed=$(systemctl list-units --failed --plain --no-legend | awk '{print $1}' | paste -sd, -)`

/** A systemd target's name, as it may appear in a unit file and a path. */
const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9:_.@-]*\.target$/

/** TARGET, refused (it is written into a unit file) unless it is a plain target name. */
export function targetName(target: string, where: string): string {
  if (!TARGET_NAME.test(target)) throw new UsageError(`${where} ${JSON.stringify(target)}: not a systemd target (NAME.target)`)
  return target
}

/** The files of a oneshot unit NAME.service running /etc/NAME/run.sh once TARGET is reached. */
export function guestUnitFiles(name: string, description: string, target: string, script: string): GuestFile[] {
  const unit = `${name}.service`
  const scriptPath = `/etc/${name}/run.sh`
  const unitText = `[Unit]
Description=${description}
After=${target}
ConditionPathExists=${scriptPath}

[Service]
Type=oneshot
ExecStart=/bin/sh ${scriptPath}

[Install]
WantedBy=${target}
`
  return [
    {path: `${name}/run.sh`, content: script},
    {path: `systemd/system/${unit}`, content: unitText},
    {path: `systemd/system/${target}.wants/${unit}`, link: `../${unit}`},
  ]
}

/** Add FILES to the deployment's /etc, owned by the build namespace's root: the machine's root owns /etc. */
export async function addToDeploymentEtc(deployment: Deployment, files: GuestFile[], workspace: Workspace): Promise<void> {
  const staged = await workspace.ownedDirectory(path.join(workspace.workDir, 'etc-additions'))
  for (const file of files) {
    await mkdir(path.join(staged, path.dirname(file.path)), {recursive: true})
    if (file.link) await symlink(file.link, path.join(staged, file.path))
    else await writeFile(path.join(staged, file.path), file.content!, {mode: 0o644})
  }
  const {sandbox} = workspace
  await sandbox.run(['cp', '-r', '--no-preserve=ownership', `${sandbox.inside(staged)}/.`, sandbox.inside(path.join(deployment.root, 'etc'))], {label: 'the test units into /etc', log: workspace.log, signal: workspace.signal, grant: {read: [staged], write: [deployment.sysroot]}})
  // Its files are the host's: the sandbox, which removes the work dir, could not.
  await rm(staged, {recursive: true, force: true})
}

/**
 * The failed units a report's first line lists (`failed=a,b` or
 * `failed=none`; none when it has no such field), or undefined when LINE is
 * not that line: it holds MARKER.
 */
export function reportedFailedUnits(marker: string, line: string): string[] | undefined {
  if (!line.includes(marker)) return undefined
  const failed = /(?:^|\s)failed=(\S+)/.exec(line)?.[1]
  return failed === undefined || failed === 'none' ? [] : failed.split(',')
}

const BOOT_REPORT_PREFIX = 'apt-ostree-boot-report:'

/** vm boot's report: once TARGET is reached, one line with the units systemd lists as failed. */
export function bootReportFiles(target: string): GuestFile[] {
  const script = `#!/bin/sh
# apt-ostree vm boot's report (see the unit); it runs as root on a test machine.
${sayFunction(BOOT_REPORT_PREFIX)}
${FAILED_UNITS}
say "reached=${target} failed=\${failed:-none}"
`
  return guestUnitFiles('apt-ostree-boot-report', 'apt-ostree vm boot report', target, script)
}

/** The failed units of vm boot's report line, or undefined for any other line. */
export function bootReport(line: string): string[] | undefined {
  return reportedFailedUnits(`${BOOT_REPORT_PREFIX} reached=`, line)
}
