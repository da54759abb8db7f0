import path from 'node:path'
import {bootModel} from '../arch.js'
import {UsageError} from '../errors.js'
import {mkfsExt4} from '../tools/disk.js'
import {hostRunner} from '../tools/exec.js'
import {OstreeRepo} from '../tools/ostree.js'
import {Workspace} from '../workspace.js'
import {buildDisk} from './disk-image.js'
import {addToDeploymentEtc} from './guest-report.js'
import {chooseAccelerator, firmwareVars} from './qemu.js'
import {checkFiles, checkReport, parseCheckLines, UPDATES_LABEL} from './upgrade-check.js'
import {bootRetryingOnce, type BootReport} from './watch.js'

export interface UpgradeOptions {
  repo: string
  /** The version machines run now (a ref or commit of REPO). */
  from: string
  /** The ref they upgrade to. */
  ref: string
  /** Upgrade-and-rollback cycles (entries from several upgrades must not confuse the boot loader). */
  cycles: number
  cacheDir: string
  /** Per boot. */
  timeoutSeconds: number
  progress: (line: string) => void
}

/** One step of the check, as it is reported. */
export interface UpgradeStep {
  step: string
  ok: boolean
  seconds: number
  /** The commit the machine ran, for a boot. */
  commit?: string
  detail?: string
}

export interface UpgradeReport {
  ok: boolean
  from: string
  to: string
  /** The commits' `version` metadata, when they have one. */
  fromVersion?: string
  toVersion?: string
  origin: string
  steps: UpgradeStep[]
  /** err-level journal lines the boots logged. */
  errors: string[]
  consoleLogs: string[]
}

/** MiB for a disk holding the repo: what it uses, with ext4's room. */
async function updatesDisk(repo: string, image: string, workspace: Workspace): Promise<void> {
  const run = {log: workspace.log, signal: workspace.signal}
  const {stdout} = await hostRunner.run(['du', '-s', '--block-size=1M', repo], {label: 'du of the repo', ...run})
  const used = Number(stdout.split(/\s+/)[0])
  await mkfsExt4(image, Math.ceil(used * 1.3) + 64, UPDATES_LABEL, repo, {...run, runner: hostRunner})
}

/** Boot NUMBER's step: it reached the target running EXPECTED, with no failed unit. */
function bootStep(number: number, expected: string, report: BootReport, fields: Map<string, string[]>): UpgradeStep {
  const ran = fields.get('booted')?.[0]
  const failed = fields.get('failed')?.[0] ?? 'unknown'
  return {
    step: `boot ${number}: ${number % 2 === 1 ? 'from' : 'to'} ${expected.slice(0, 12)}`,
    ok: report.reached && ran === expected && failed === 'none',
    seconds: report.seconds,
    commit: ran,
    detail: !report.reached ? report.failure : ran !== expected ? `runs ${ran ?? 'nothing the check could see'}, not ${expected}` : failed !== 'none' ? `failed units: ${failed}` : undefined,
  }
}

/** What the guest's check did after a boot: the upgrade (local /etc and /var data must be kept), or the rollback. */
function guestStep(step: 'upgrade' | 'rollback', fields: Map<string, string[]>): UpgradeStep {
  const first = (key: string): string | undefined => fields.get(key)?.[0]
  const exit = first(`${step}-exit`)
  const seconds = Math.round((Number(first(`${step}-end`)) - Number(first(`${step}-start`))) * 10) / 10
  const kept = step === 'rollback' ? {etc: first('etc'), var: first('var')} : undefined
  const output = (fields.get(`${step}-output`) ?? []).join(' | ')
  return {
    step: step === 'upgrade' ? 'ostree admin upgrade' : 'ostree admin set-default 1',
    ok: exit === '0' && (!kept || (kept.etc === 'kept' && kept.var === 'kept')),
    seconds: Number.isFinite(seconds) ? seconds : 0,
    detail: exit !== '0' ? `exit ${exit ?? 'not reported'}: ${output}` : kept && (kept.etc !== 'kept' || kept.var !== 'kept') ? `local /etc change ${kept.etc}, /var data ${kept.var}` : undefined,
  }
}

/**
 * The check a pipeline runs before it publishes REF: a disk made from FROM
 * exactly as `compose disk-image` makes it, booted under UEFI through its
 * own boot loader, with REPO on a second, read-only disk; in the guest, a
 * plain `ostree admin upgrade` (the image's remote, pointed at that disk),
 * a reboot into REF's commit, `ostree admin set-default 1`, a reboot into
 * FROM's. ok only when every step held.
 */
export async function checkUpgrade(options: UpgradeOptions): Promise<UpgradeReport> {
  const repo = new OstreeRepo(path.resolve(options.repo))
  if (!(await repo.exists())) throw new UsageError(`--repo ${options.repo}: not an OSTree repo`)
  const to = await repo.resolve(options.ref)
  if (!to) throw new UsageError(`${options.ref}: no such ref in ${options.repo}`)
  const fromCommit = await repo.resolve(options.from)
  if (!fromCommit) throw new UsageError(`--from ${options.from}: no such ref or commit in ${options.repo}`)
  if (fromCommit === to) throw new UsageError(`--from ${options.from} is ${options.ref}'s commit (${to.slice(0, 12)}): nothing to upgrade to`)
  const workspace = await Workspace.open(path.resolve(options.cacheDir), 'vm-upgrade')
  const {progress} = options
  try {
    const host = await workspace.hostWorkDirectory()
    const disk = path.join(host, 'disk.raw')
    const built = await buildDisk(
      {
        source: {repo: repo.path, ref: fromCommit},
        kargs: [],
        raw: disk,
        progress,
        beforeImage: (deployment) => addToDeploymentEtc(deployment, checkFiles(options.cycles), workspace),
      },
      workspace,
    )
    if (!built.origin.includes(':')) throw new UsageError(`--from ${options.from}: its treefile names no remote ("remote:"), so a machine deployed from it cannot find an update`)
    progress(`making the update disk from ${options.repo}`)
    const updates = path.join(host, 'updates.img')
    await updatesDisk(repo.path, updates, workspace)
    const model = bootModel(built.arch)
    const vars = path.join(host, 'firmware-vars.fd')
    await firmwareVars(model, vars)
    const chosen = await chooseAccelerator(built.arch, workspace.signal)
    progress(chosen.reason)
    // Once KVM has failed a boot (bootRetryingOnce), the later boots run emulated too.
    let {accelerator} = chosen
    const steps: UpgradeStep[] = []
    const errors: string[] = []
    const consoleLogs: string[] = []
    const boots = 2 * options.cycles + 1
    for (let number = 1; number <= boots; number++) {
      const expected = number % 2 === 1 ? fromCommit : to
      progress(`boot ${number} of ${boots}: expecting ${expected.slice(0, 12)}`)
      const lines: string[] = []
      const consoleLog = workspace.log.path.replace(/\.log$/, `-console-${number}.log`)
      const report = await bootRetryingOnce(
        {
          model,
          method: {kind: 'uefi', vars},
          disk,
          diskFormat: 'raw',
          extraDisks: [updates],
          accelerator,
          target: 'multi-user.target',
          guestReport: checkReport,
          timeoutSeconds: options.timeoutSeconds,
          consoleLog,
          signal: workspace.signal,
          untilExit: true,
          onLine: (line) => lines.push(line),
        },
        // Only while the check has not run: a stalled boot after it is a failure to report.
        {progress, when: () => parseCheckLines(lines).size === 0, reset: () => (lines.length = 0)},
      )
      consoleLogs.push(consoleLog)
      accelerator = report.accelerator
      const fields = parseCheckLines(lines)
      errors.push(...(fields.get('err') ?? []))
      const booted = bootStep(number, expected, report, fields)
      steps.push(booted)
      progress(`${booted.step}: ${booted.ok ? `ran in ${booted.seconds} s` : booted.detail}`)
      if (!booted.ok || number === boots) break
      const done = guestStep(number % 2 === 1 ? 'upgrade' : 'rollback', fields)
      steps.push(done)
      progress(`${done.step}: ${done.ok ? `${done.seconds} s` : done.detail}`)
      if (!done.ok) break
    }
    const ok = steps.length === 4 * options.cycles + 1 && steps.every((step) => step.ok)
    const [fromVersion, toVersion] = await Promise.all([fromCommit, to].map(async (commit) => (await repo.metadataStrings(commit, 'version'))[0]))
    return {ok, from: fromCommit, to, fromVersion, toVersion, origin: built.origin, steps, errors, consoleLogs}
  } catch (error) {
    throw workspace.interrupted(error)
  } finally {
    await workspace.dispose()
  }
}
