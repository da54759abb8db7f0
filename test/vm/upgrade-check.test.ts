import {execa} from 'execa'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, test} from 'vitest'
import {checkFiles, checkReport, parseCheckLines} from '../../src/vm/upgrade-check.js'

describe('the upgrade check in the guest', () => {
  test('is a shell script sh reads, a unit wanted by multi-user.target, and powers off after 2 × cycles + 1 boots', async () => {
    const files = checkFiles(2)
    const script = files.find((file) => file.path.endsWith('run.sh'))!.content!
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-check-'))
    try {
      writeFileSync(path.join(scratch, 'check.sh'), script)
      expect((await execa('sh', ['-n', path.join(scratch, 'check.sh')], {reject: false})).exitCode).toBe(0)
    } finally {
      rmSync(scratch, {recursive: true, force: true})
    }
    expect(script).toContain('if [ "$boot" -ge 5 ]; then')
    expect(files.find((file) => file.link)?.path).toBe('systemd/system/multi-user.target.wants/apt-ostree-upgrade-check.service')
  })

  test('its console lines are read back as fields, text fields whole, other lines ignored', () => {
    const fields = parseCheckLines([
      '[   60.1] systemd[1]: Started something.',
      'apt-ostree-upgrade-check: boot=1 booted=abc failed=none',
      'x apt-ostree-upgrade-check: err=[   12.000] host systemd-tmpfiles[300]: "/home" already exists',
      'apt-ostree-upgrade-check: upgrade-exit=0 upgrade-start=70.5 upgrade-end=98.25',
      'apt-ostree-upgrade-check: upgrade-output=Staging deployment... done',
    ])
    expect(Object.fromEntries(fields)).toEqual({
      boot: ['1'],
      booted: ['abc'],
      failed: ['none'],
      err: ['[   12.000] host systemd-tmpfiles[300]: "/home" already exists'],
      'upgrade-exit': ['0'],
      'upgrade-start': ['70.5'],
      'upgrade-end': ['98.25'],
      'upgrade-output': ['Staging deployment... done'],
    })
  })
})

test("the check's first line of a boot counts as reaching multi-user.target (the unit runs after it); its other lines do not", () => {
  expect(checkReport('[   61.5] apt-ostree-upgrade-check: boot=1 booted=48a443ea failed=none')).toEqual([])
  expect(checkReport('apt-ostree-upgrade-check: boot=2 booted=48a443ea failed=a.service,b.mount')).toEqual(['a.service', 'b.mount'])
  expect(checkReport('apt-ostree-upgrade-check: upgrade-exit=0 upgrade-start=211.61 upgrade-end=251.50')).toBeUndefined()
  expect(checkReport('[  OK  ] Reached target getty.target - Login Prompts.')).toBeUndefined()
})
