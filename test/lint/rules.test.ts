import {rmSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, test} from 'vitest'
import {treeFromDirectory} from '../../src/lint/load.js'
import type {LintProblem, LintType} from '../../src/lint/rule.js'
import {LINT_RULES} from '../../src/lint/rules/index.js'
import {runLint, type LintResult} from '../../src/lint/run.js'
import {directory, GROUP, link, OWNER, passingFixture, put} from './fixture.js'

let root: string
beforeEach(() => {
  root = passingFixture()
})
afterEach(() => rmSync(root, {recursive: true, force: true}))

const lint = async (skip: string[] = []): Promise<LintResult> => runLint(await treeFromDirectory(root), {rootKind: 'rootfs', skip})
const remove = (name: string): void => rmSync(path.join(root, name), {recursive: true, force: true})

test('the passing fixture passes every rule', async () => {
  const result = await lint()
  expect(result.findings).toEqual([])
  expect(result).toMatchObject({passed: LINT_RULES.length, skipped: 0, warnings: 0, fatal: 0, failed: 0})
  expect(LINT_RULES.map((rule) => rule.name)).toEqual([...LINT_RULES.map((rule) => rule.name)].sort())
  expect(LINT_RULES).toHaveLength(16)
})

interface FailingCase {
  name: string
  rule: string
  type: LintType
  mutate(): void
  problems: LintProblem[]
  /** Rules the mutation also trips, kept out of the assertion. */
  skip?: string[]
}

const cases: FailingCase[] = [
  {name: '/proc missing', rule: 'api-base-directories', type: 'fatal', mutate: () => remove('proc'), problems: [{message: 'Missing API filesystem base directory', items: ['/proc']}]},
  {name: '/tmp a link', rule: 'api-base-directories', type: 'fatal', mutate: () => (remove('tmp'), directory(root, 'sysroot/tmp'), link(root, 'sysroot/tmp', 'tmp')), problems: [{message: 'Expected directory for API filesystem base directory', items: ['/tmp']}]},
  {name: 'composefs off where ostree has it', rule: 'baseimage-composefs', type: 'warning', mutate: () => (put(root, 'usr/lib/x86_64-linux-gnu/libcomposefs.so.1'), put(root, 'usr/lib/ostree/prepare-root.conf', '[composefs]\nenabled = no\n')), problems: [{message: '/usr/lib/ostree/prepare-root.conf does not have composefs enabled', items: []}]},
  {name: '/sysroot missing', rule: 'baseimage-root', type: 'fatal', mutate: () => remove('sysroot'), problems: [{message: 'Missing /sysroot', items: []}]},
  {name: '/ostree pointing elsewhere', rule: 'baseimage-root', type: 'fatal', mutate: () => (remove('ostree'), link(root, 'sysroot/wrong', 'ostree')), problems: [{message: 'Expected /ostree -> sysroot/ostree, not "sysroot/wrong"', items: []}]},
  {
    name: 'kargs.d files that do not parse',
    rule: 'bootc-kargs',
    type: 'fatal',
    mutate: () => {
      const files = {
        '10-ok.toml': 'kargs = ["console=ttyS0"]\nmatch-architectures = ["x86_64"]\n',
        '20-string.toml': 'kargs = "quiet"\n',
        '30-syntax.toml': 'kargs = ["quiet"\n',
        '40-unknown.toml': 'kargs = []\narch = ["x86_64"]\n',
        '50-empty.toml': '',
        README: 'not toml at all = [',
      }
      for (const [name, text] of Object.entries(files)) put(root, `usr/lib/bootc/kargs.d/${name}`, text)
    },
    problems: [
      {
        message: 'Failed to parse /usr/lib/bootc/kargs.d',
        items: [
          '/usr/lib/bootc/kargs.d/20-string.toml: "kargs" is not an array of strings',
          '/usr/lib/bootc/kargs.d/30-syntax.toml:2:1: expected comma or end of structure',
          '/usr/lib/bootc/kargs.d/40-unknown.toml: unknown field "arch", expected "kargs" or "match-architectures"',
          '/usr/lib/bootc/kargs.d/50-empty.toml: missing field "kargs"',
        ],
      },
    ],
  },
  {name: 'an empty /etc/hostname', rule: 'buildah-injected', type: 'warning', mutate: () => put(root, 'etc/hostname'), problems: [{message: 'Found empty files; these may have been synthesized by a container runtime', items: ['/etc/hostname']}]},
  {name: 'the dpkg database in /var', rule: 'debian-dpkg-database', type: 'warning', mutate: () => put(root, 'var/lib/dpkg/status', 'Package: base-files\n'), problems: [{message: 'Found the dpkg database in /var instead of a link to /usr/share/dpkg/database', items: ['/var/lib/dpkg/status']}], skip: ['var-tmpfiles']},
  {name: 'files in /opt', rule: 'debian-opt', type: 'warning', mutate: () => (put(root, 'opt/google/chrome/chrome', 'ELF'), link(root, 'chrome', 'opt/google/chrome/google-chrome'), directory(root, 'opt/empty')), problems: [{message: 'Found files in /opt, which is read-only under composefs', items: ['/opt/google/chrome/chrome', '/opt/google/chrome/google-chrome']}]},
  {name: '/usr/etc beside /etc', rule: 'etc-usretc', type: 'fatal', mutate: () => directory(root, 'usr/etc'), problems: [{message: 'Found /usr/etc - this is a bootc implementation detail and not supported to use in containers', items: []}]},
  {name: 'two kernels', rule: 'kernel', type: 'fatal', mutate: () => (put(root, 'usr/lib/modules/6.13.0/vmlinuz', 'new vmlinuz'), put(root, 'usr/lib/modules/6.11.0/foo.ko', 'modules only')), problems: [{message: 'Found multiple subdirectories in usr/lib/modules', items: ['/usr/lib/modules/6.12.0', '/usr/lib/modules/6.13.0']}]},
  {name: '/boot missing', rule: 'nonempty-boot', type: 'warning', mutate: () => remove('boot'), problems: [{message: 'Missing /boot directory', items: []}]},
  {name: 'a kernel in /boot', rule: 'nonempty-boot', type: 'warning', mutate: () => (put(root, 'boot/vmlinuz-6.12.0', 'vmlinuz'), directory(root, 'boot/EFI/Linux')), problems: [{message: 'Found non-empty /boot', items: ['/boot/vmlinuz-6.12.0']}]},
  {
    name: 'build leftovers in /tmp and /run',
    rule: 'nonempty-run-tmp',
    type: 'warning',
    // Podman's stub-resolv.conf and its parents are not the image's.
    mutate: () => (put(root, 'tmp/build.log', 'log'), put(root, 'run/systemd/resolve/stub-resolv.conf', 'nameserver 10.0.2.3'), directory(root, 'run/lock')),
    problems: [{message: 'Found content in runtime-only directories (/run, /tmp)', items: ['/run/lock', '/tmp/build.log']}],
  },
  {
    name: 'accounts without sysusers.d lines',
    rule: 'sysusers',
    type: 'warning',
    mutate: () => (put(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\npostgres:x:104:110::/var/lib/postgresql:/bin/bash\n'), put(root, 'etc/group', 'root:x:0:\npostgres:x:110:\nssl-cert:x:111:postgres\n')),
    problems: [
      {message: 'Found /etc/passwd entry without corresponding systemd sysusers.d', items: ['postgres']},
      {message: 'Found /etc/group entry without corresponding systemd sysusers.d', items: ['postgres', 'ssl-cert']},
    ],
  },
  {
    name: 'names that are not UTF-8',
    rule: 'utf8',
    type: 'fatal',
    mutate: () => {
      writeFileSync(Buffer.concat([Buffer.from(`${root}/usr/bad`), Buffer.from([0xff]), Buffer.from('name')]), 'x')
      symlinkSync(Buffer.from([0x66, 0xff]), path.join(root, 'usr/good-name'))
    },
    problems: [
      {message: 'Found non-UTF-8 filenames', items: ['/usr/bad\uFFFDname']},
      {message: 'Found non-UTF-8 symlink targets', items: ['/usr/good-name']},
    ],
  },
  {name: 'logs in /var/log', rule: 'var-log', type: 'warning', mutate: () => (put(root, 'var/log/dpkg.log', 'installed'), put(root, 'var/log/apt/history.log', 'history'), put(root, 'var/log/empty.log'), link(root, '../../usr/share/doc/README.logs', 'var/log/README')), problems: [{message: 'Found non-empty logfiles', items: ['/var/log/apt/history.log', '/var/log/dpkg.log']}], skip: ['var-tmpfiles']},
  {name: '/var/run a directory', rule: 'var-run', type: 'fatal', mutate: () => (remove('var/run'), directory(root, 'var/run')), problems: [{message: 'Not a symlink: var/run', items: []}]},
  {
    name: '/var content without tmpfiles.d lines',
    rule: 'var-tmpfiles',
    type: 'warning',
    mutate: () => (directory(root, 'var/lib/foo', 0o750), link(root, '../bar', 'var/lib/foo/link'), put(root, 'var/lib/foo/state', 'state')),
    problems: [
      {message: 'Found content in /var missing systemd tmpfiles.d entries', items: ['L /var/lib/foo/link - - - - ../bar', `d /var/lib 0755 ${OWNER} ${GROUP} - -`, `d /var/lib/foo 0750 ${OWNER} ${GROUP} - -`]},
      {message: 'Found non-directory/non-symlink files in /var', items: ['/var/lib/foo/state']},
    ],
  },
]

test('every rule has a failing case', () => {
  expect(new Set(cases.map((testCase) => testCase.rule))).toEqual(new Set(LINT_RULES.map((rule) => rule.name)))
  for (const {rule, type} of cases) expect(LINT_RULES.find((candidate) => candidate.name === rule)?.type).toBe(type)
})

test.each(cases)('$name fails $rule', async ({rule, type, mutate, problems, skip}) => {
  mutate()
  const result = await lint(skip)
  expect(result.findings).toEqual(problems.map((problem) => ({rule, type, ...problem})))
  expect(type === 'fatal' ? result.fatal : result.warnings).toBe(1)
})

describe('baseimage-composefs applies only where the tree\'s ostree can do composefs', () => {
  const composefs = async (): Promise<LintResult['findings']> => (await lint()).findings.filter((finding) => finding.rule === 'baseimage-composefs')
  const libcomposefs = (): void => put(root, 'usr/lib/x86_64-linux-gnu/libcomposefs.so.1.4.0')

  test('no libcomposefs (trixie\'s ostree): composefs off passes', async () => {
    put(root, 'usr/lib/ostree/prepare-root.conf', '[composefs]\nenabled = no\n')
    expect(await composefs()).toEqual([])
  })

  test('no libcomposefs: no prepare-root.conf at all passes', async () => {
    remove('usr/lib/ostree/prepare-root.conf')
    expect(await composefs()).toEqual([])
  })

  test('libcomposefs (forky\'s ostree) without prepare-root.conf warns', async () => {
    libcomposefs()
    remove('usr/lib/ostree/prepare-root.conf')
    expect(await composefs()).toEqual([{rule: 'baseimage-composefs', type: 'warning', message: '/usr/lib/ostree/prepare-root.conf is not present to enable composefs', items: []}])
  })

  test('libcomposefs with composefs on, in any spelling, or a transient root passes', async () => {
    libcomposefs()
    for (const conf of ['[composefs]\nenabled = yes\n', '[composefs]\nenabled=verity\n', '[composefs]\nenabled = maybe\n', '[composefs]\nenabled = no\n[root]\ntransient = true\n']) {
      put(root, 'usr/lib/ostree/prepare-root.conf', conf)
      expect(await composefs(), conf).toEqual([])
    }
  })

  test('/etc/ostree/prepare-root.conf wins over /usr/lib\'s', async () => {
    libcomposefs()
    put(root, 'etc/ostree/prepare-root.conf', '[composefs]\nenabled = false\n')
    expect((await composefs()).map((finding) => finding.message)).toEqual(['/etc/ostree/prepare-root.conf does not have composefs enabled'])
  })
})

describe('var-tmpfiles', () => {
  const missing = async (): Promise<string[]> => (await lint()).findings.filter((finding) => finding.rule === 'var-tmpfiles').flatMap((finding) => finding.items)

  test('a declared path is matched through the links of its parents', async () => {
    // systemd's provision.conf declares /root/.ssh; /root links to /var/roothome.
    link(root, 'var/roothome', 'root')
    directory(root, 'var/roothome/.ssh', 0o700)
    put(root, 'usr/lib/tmpfiles.d/provision.conf', 'd /var/roothome 0755 root root -\nd /root/.ssh 0700 root root -\n')
    expect(await missing()).toEqual([])
  })

  test('quoted and escaped paths, /etc/tmpfiles.d, and lines with specifiers', async () => {
    directory(root, 'var/lib/with space')
    directory(root, 'var/lib/escaped dir')
    directory(root, 'var/lib/home-of-%u')
    put(root, 'usr/lib/tmpfiles.d/a.conf', 'd /var/lib 0755 root root -\nd "/var/lib/with space" 0755 root root -\n')
    put(root, 'etc/tmpfiles.d/b.conf', 'd /var/lib/escaped\\x20dir 0755 root root -\nd /var/lib/home-of-%u 0755 - - -\n')
    expect(await missing()).toEqual([`d /var/lib/home-of-%u 0755 ${OWNER} ${GROUP} - -`])
  })

  test('a line for a directory covers nothing below it', async () => {
    directory(root, 'var/cache/apt')
    put(root, 'usr/lib/tmpfiles.d/cache.conf', 'd /var/cache 0755 root root -\n')
    expect(await missing()).toEqual([`d /var/cache/apt 0755 ${OWNER} ${GROUP} - -`])
  })

  test('the /var/run link without its line is reported as /run, as bootc writes it', async () => {
    remove('usr/lib/tmpfiles.d/var.conf')
    expect(await missing()).toEqual(['L /run - - - - ../run'])
  })
})

describe('sysusers', () => {
  test('/etc/sysusers.d counts, g declares a group, m declares nothing', async () => {
    put(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\nmember:x:1000:1000::/home/member:/bin/sh\n')
    put(root, 'etc/group', 'root:x:0:\nnogroup:x:65534:\nmember:x:1000:\n')
    put(root, 'etc/sysusers.d/local.conf', 'u _apt 42:65534 - /nonexistent /usr/sbin/nologin\ng nogroup 65534\nm member nogroup\n')
    const findings = (await lint()).findings
    expect(findings.map(({message, items}) => [message, items])).toEqual([
      ['Found /etc/passwd entry without corresponding systemd sysusers.d', ['member']],
      ['Found /etc/group entry without corresponding systemd sysusers.d', ['member']],
    ])
  })

  test('no /etc/passwd, nothing to check', async () => {
    remove('etc/passwd')
    expect((await lint()).findings).toEqual([])
  })
})

test('an /opt that links into /var is fine', async () => {
  link(root, 'var/opt', 'opt')
  put(root, 'var/opt/app/bin/app', 'ELF')
  expect((await lint(['var-tmpfiles'])).findings).toEqual([])
})
