import {execa} from 'execa'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, test} from 'vitest'
import {bootReport, bootReportFiles, reportedFailedUnits, sayFunction, targetName} from '../../src/vm/guest-report.js'

const scratch = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-guest-report-'))
afterAll(() => rmSync(scratch, {recursive: true, force: true}))

describe("vm boot's report unit", () => {
  test('is a script sh reads, and a oneshot unit ordered after the target and wanted by it', async () => {
    const files = bootReportFiles('graphical.target')
    const script = files.find((file) => file.path === 'apt-ostree-boot-report/run.sh')!.content!
    const scriptFile = path.join(scratch, 'run.sh')
    writeFileSync(scriptFile, script)
    await execa('sh', ['-n', scriptFile])
    expect(script).toContain('say "reached=graphical.target failed=${failed:-none}"')
    const unit = files.find((file) => file.path === 'systemd/system/apt-ostree-boot-report.service')!.content!
    expect(unit).toMatch(/^After=graphical\.target$/m)
    expect(unit).toMatch(/^WantedBy=graphical\.target$/m)
    expect(unit).toMatch(/^Type=oneshot$/m)
    expect(files.find((file) => file.link)).toEqual({path: 'systemd/system/graphical.target.wants/apt-ostree-boot-report.service', link: '../apt-ostree-boot-report.service'})
  })

  test('say writes one notice-level kernel log record, cut to what /dev/kmsg takes', async () => {
    const kmsg = path.join(scratch, 'kmsg')
    const say = sayFunction('prefix:').replace('/dev/kmsg', kmsg)
    await execa('sh', ['-c', `${say}\nsay "a b" c`])
    expect(readFileSync(kmsg, 'utf8')).toBe('<5>prefix: a b c\n')
    await execa('sh', ['-c', `${say}\nsay "$(printf '%2000s' x)"`])
    const long = readFileSync(kmsg, 'utf8')
    expect(Buffer.byteLength(long)).toBeLessThan(992)
    expect(long.endsWith('\n')).toBe(true)
  })

  test('its line, as the console shows it, gives the failed units; other lines give nothing', () => {
    expect(bootReport('[   57.1] apt-ostree-boot-report: reached=multi-user.target failed=none')).toEqual([])
    expect(bootReport('[   57.1] apt-ostree-boot-report: reached=multi-user.target failed=x.service,y.mount')).toEqual(['x.service', 'y.mount'])
    expect(bootReport('[  OK  ] Reached target multi-user.target - Multi-User System.')).toBeUndefined()
    expect(reportedFailedUnits('apt-ostree-boot-report: reached=', 'boot=1 booted=abc failed=x.service')).toBeUndefined()
  })

  test('takes a target name only, since it is written into a unit file', () => {
    expect(targetName('multi-user.target', '--target')).toBe('multi-user.target')
    for (const bad of ['multi-user.target\nExecStart=/bin/false', 'x.service', '../x.target', '', 'a b.target']) {
      expect(() => targetName(bad, '--target')).toThrow(/^--target .*: not a systemd target \(NAME\.target\)$/)
    }
  })
})
