import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {repoRoot, runCli, STACK_FRAME, type CliResult} from '../helpers/cli.js'
import {execa} from 'execa'
import {fsckProblems, RepoReader} from '../helpers/ostree.js'
import {schemaErrors} from '../helpers/output-schema.js'
import {canonicalJson} from '../../src/hash.js'
import type {InputParts} from '../../src/compose/plan.js'
import {closedPort} from '../helpers/ports.js'
import {workDirs, workDirsSince} from '../helpers/work-dirs.js'

// One real compose (mmdebstrap, bwrap, dracut, ostree against the Debian
// archive) of a treefile that uses each customize key, read by many tests.
const cacheDir = path.join(repoRoot, '.cache/test')
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-compose-'))
const workDirsBefore = workDirs(cacheDir)
const repo = path.join(work, 'repo')
const fixtures = 'test/fixtures/compose'
const ref = 'test/13/amd64/keys'
const commit = (treefile: string, ...extra: string[]): Promise<CliResult> =>
  runCli(['compose', 'tree', `${fixtures}/${treefile}`, '--repo', repo, '--cachedir', cacheDir, ...extra], {env: {CI: 'true'}})

let first: CliResult
let composeJson: {commit: string; packages: string[]; version: string; inputhash: string; inputs: InputParts; diff: {added: string[]}}
const tree = new RepoReader(repo, ref)

beforeAll(async () => {
  first = await commit('keys.yaml', '--write-composejson-to', path.join(work, 'compose.json'), '--write-lockfile-to', path.join(work, 'lock.json'), '--source-date-epoch', '1767225600')
  if (first.exitCode !== 0) throw new Error(`compose failed:\n${first.stderr}`)
  composeJson = JSON.parse(readFileSync(path.join(work, 'compose.json'), 'utf8'))
})

afterAll(async () => {
  // Every repo these tests wrote is whole.
  expect(await fsckProblems(repo)).toBeUndefined()
  rmSync(work, {recursive: true, force: true})
})

describe('compose tree: the OSTree layout', () => {
  test('kernel and initramfs in /usr/lib/modules/$kver, mode 0644, /boot empty', async () => {
    const kver = await tree.metadata('ostree.linux')
    const dir = `/usr/lib/modules/${kver.replaceAll("'", '')}`
    expect((await tree.stat(`${dir}/vmlinuz`))?.mode).toBe('-00644')
    expect((await tree.stat(`${dir}/initramfs.img`))?.mode).toBe('-00644')
    expect(await tree.list('/boot')).toEqual([])
  })

  test('/etc is /usr/etc, the dpkg database is in /usr, /var holds nothing', async () => {
    expect(await tree.stat('/etc')).toBeUndefined()
    expect((await tree.stat('/usr/etc/passwd'))?.mode).toBe('-00644')
    expect(await tree.cat('/usr/share/dpkg/database/status')).toMatch(/^Package: systemd$/m)
    expect(await tree.list('/var')).toEqual([])
    const autovar = await tree.cat('/usr/lib/tmpfiles.d/apt-ostree-autovar.conf')
    expect(autovar).toContain('L /var/lib/dpkg - - - - ../../usr/share/dpkg/database')
    expect(autovar).toMatch(/^d \/var\/lib\/apt\/lists\/partial 0700 _apt root - -$/m)
  })

  test('top level: /sysroot, /ostree -> sysroot/ostree, state links into /var, /tmp 1777', async () => {
    expect((await tree.stat('/sysroot'))?.mode).toBe('d00755')
    expect(await tree.stat('/ostree')).toEqual({mode: 'l00777', target: 'sysroot/ostree'})
    expect((await tree.stat('/home'))?.target).toBe('var/home')
    expect((await tree.stat('/root'))?.target).toBe('var/roothome')
    expect((await tree.stat('/usr/local'))?.target).toBe('../var/usrlocal')
    expect((await tree.stat('/tmp'))?.mode).toBe('d01777')
    expect(await tree.cat('/usr/lib/tmpfiles.d/apt-ostree-integration.conf')).toContain('d /var/roothome 0700 root root - -')
  })

  test('prepare-root.conf from composefs, dracut and kernel-install config', async () => {
    expect(await tree.cat('/usr/lib/ostree/prepare-root.conf')).toBe('[composefs]\nenabled = no\n\n[sysroot]\nreadonly = true\n')
    expect(await tree.cat('/usr/lib/dracut/dracut.conf.d/10-apt-ostree.conf')).toContain('add_dracutmodules+=" ostree "')
    expect(await tree.cat('/usr/lib/kernel/install.conf')).toBe('layout=ostree\n')
  })

  test('machine-id is empty (machineid-compat), no host file leaks in, the treefile is in the tree', async () => {
    expect(await tree.cat('/usr/etc/machine-id')).toBe('')
    expect(await tree.stat('/usr/etc/resolv.conf')).toBeUndefined()
    expect(await tree.stat('/usr/etc/hostname')).toBeUndefined()
    expect(JSON.parse(await tree.cat('/usr/share/apt-ostree/treefile.json')).ref).toBe(ref)
  })
})

describe('compose tree: commit metadata', () => {
  test('version, bootable, kernel, input hash, packages, treefile metadata', async () => {
    expect(await tree.metadata('ostree.bootable')).toBe('true')
    expect(await tree.metadata('ostree.linux')).toMatch(/^'\d+\.\d+.*-amd64'$/)
    expect(await tree.metadata('version')).toBe(`'${composeJson.version}'`)
    expect(composeJson.version).toMatch(/^13\.\d{8}\.0$/)
    expect(await tree.metadata('apt-ostree.inputhash')).toBe(`'${composeJson.inputhash}'`)
    // The hash's parts, in the compose JSON and the commit: each file, each InRelease, the tool's code.
    const inputs = composeJson.inputs
    expect(createHash('sha256').update(canonicalJson(inputs)).digest('hex')).toBe(composeJson.inputhash)
    expect(await tree.metadata('apt-ostree.inputs')).toBe(`'${canonicalJson(inputs)}'`)
    expect(Object.keys(inputs.releases)).toContain('http://deb.debian.org/debian/dists/trixie/InRelease')
    expect(Object.keys(inputs.files).some((key) => key.endsWith('post.sh'))).toBe(true)
    expect(inputs.toolCode).toMatch(/^[0-9a-f]{64}$/)
    expect(inputs.sourceDateEpoch).toBe(1767225600)
    expect(await tree.metadata('apt-ostree.packages')).toMatch(/'systemd=[^']+:amd64'/)
    expect(await tree.metadata('org.example.test')).toBe("'yes'")
    expect(composeJson.packages.length).toBeGreaterThan(100)
    expect(composeJson.diff.added.length).toBe(composeJson.packages.length)
  })

  test('the commit timestamp is SOURCE_DATE_EPOCH', async () => {
    const show = (await execa('ostree', [`--repo=${repo}`, 'show', ref])).stdout
    expect(show).toMatch(/Date:\s+2026-01-01 00:00:00 \+0000/)
  })
})

describe('compose tree: treefile keys', () => {
  test('add-files copies into /usr/etc', async () => {
    expect(await tree.cat('/usr/etc/motd')).toBe('Welcome to the apt-ostree test tree.\n')
  })

  test('remove-files and remove-from-packages remove', async () => {
    expect(await tree.stat('/usr/etc/issue.net')).toBeUndefined()
    expect(await tree.stat('/usr/share/common-licenses/Artistic')).toBeUndefined()
    expect(await tree.stat('/usr/share/common-licenses/GPL-3')).toBeDefined()
  })

  test('units are enabled, default-target is linked in /usr', async () => {
    expect((await tree.stat('/usr/etc/systemd/system/timers.target.wants/fstrim.timer'))?.target).toMatch(/^(\/usr)?\/lib\/systemd\/system\/fstrim\.timer$/)
    expect((await tree.stat('/usr/lib/systemd/system/default.target'))?.target).toBe('multi-user.target')
  })

  test('mutate-os-release puts the version into os-release', async () => {
    const osRelease = await tree.cat('/usr/lib/os-release')
    expect(osRelease).toContain(`VERSION="${composeJson.version} (trixie)"`)
    expect(osRelease).toContain(`OSTREE_VERSION='${composeJson.version}'`)
  })

  test('documentation: false and install-langs keep only copyright files and English translations', async () => {
    expect(await tree.list('/usr/share/man')).toEqual([])
    expect(await tree.stat('/usr/share/doc/systemd/copyright')).toBeDefined()
    expect((await tree.list('/usr/share/doc/systemd')).map((file) => path.basename(file))).toEqual(['copyright'])
    const locales = await tree.list('/usr/share/locale')
    expect(locales.filter((entry) => !/\/(en([_@][A-Za-z]+)?|locale\.alias)$/.test(entry))).toEqual([])
  })

  test('readonly-executables drops write bits', async () => {
    expect((await tree.stat('/usr/bin/bash'))?.mode).toBe('-00555')
  })

  test('postprocess scripts run, inline first, in a sandbox without network', async () => {
    expect(await tree.cat('/usr/share/apt-ostree-test-inline')).toBe('inline\n')
    expect(await tree.cat('/usr/share/apt-ostree-test/source-date-epoch')).toBe('1767225600\n')
    expect(await tree.cat('/usr/share/apt-ostree-test/lang')).toBe('C.UTF-8\n')
    expect(await tree.cat('/usr/share/apt-ostree-test/network')).toBe('unreachable\n')
    expect(await tree.stat('/apt-ostree-sandbox-marker')).toBeDefined()
    expect(existsSync('/apt-ostree-sandbox-marker')).toBe(false)
  })
})

describe('compose tree: the lockfile', () => {
  test('lists the resolved package set (every package in the commit) with version, architecture and the digest of the .deb the cache holds; each suite with its InRelease', () => {
    const lockfile = JSON.parse(readFileSync(path.join(work, 'lock.json'), 'utf8')) as {
      packages: Record<string, {version: string; architecture: string; digest: string}>
      metadata: {archives: Array<{repo: string; uri: string; suite: string; inrelease: string; date: string}>}
    }
    expect(schemaErrors('lockfile', lockfile)).toEqual([])
    const locked = Object.entries(lockfile.packages).map(([name, pkg]) => `${name.split(':')[0]}=${pkg.version}:${pkg.architecture}`)
    // dpkg drops a package whose files another one took over ("disappeared"): the lock still has its .deb.
    expect(locked).toEqual(expect.arrayContaining(composeJson.packages))
    expect(Object.keys(lockfile.packages)).toEqual(Object.keys(lockfile.packages).sort())
    for (const pkg of Object.values(lockfile.packages)) {
      const stored = path.join(cacheDir, 'archive/sha256', pkg.digest.replace(/^sha256:/, ''))
      expect(createHash('sha256').update(readFileSync(stored)).digest('hex')).toBe(pkg.digest.replace(/^sha256:/, ''))
    }
    const suites = lockfile.metadata.archives.map((archive) => `${archive.repo} ${archive.suite}`)
    expect(suites).toEqual(expect.arrayContaining(['debian trixie', 'debian trixie-updates', 'debian-security trixie-security']))
    expect(suites).toEqual([...new Set(suites)].sort())
    for (const archive of lockfile.metadata.archives) expect(Date.parse(archive.date)).toBeGreaterThan(Date.parse('2025-01-01'))
  })
})

describe('compose tree: reruns and faults', () => {
  test('an unchanged rerun prints "No apparent changes since previous commit" and runs no stage after the plan', async () => {
    const rerun = await commit('keys.yaml', '--source-date-epoch', '1767225600', '--write-lockfile-to', path.join(work, 'lock-again.json'), '--write-report-to', path.join(work, 'report.json'))
    expect(rerun.exitCode).toBe(0)
    expect(rerun.stdout).toContain('No apparent changes since previous commit')
    // Its report: valid, the commit as it was, nothing taken from the cache or fetched.
    const report = JSON.parse(readFileSync(path.join(work, 'report.json'), 'utf8'))
    expect(schemaErrors('report', report)).toEqual([])
    expect(report).toMatchObject({commit: composeJson.commit, unchanged: true, packages: {count: composeJson.packages.length}, cache: {rootfs: 'not needed', debs: {fetched: 0}}, image: null, lint: null})
    // The same compose, the same lockfile, byte for byte.
    expect(readFileSync(path.join(work, 'lock-again.json'), 'utf8')).toBe(readFileSync(path.join(work, 'lock.json'), 'utf8'))
    expect(await tree.revParse()).toBe(composeJson.commit)
    expect(rerun.stderr).not.toMatch(/\[STARTED\] (bootstrap|customize|ostreeify|commit)/)
  })

  test('a failing postprocess script names its treefile line and exit code; no ref is written', async () => {
    const failed = await commit('failing-script.yaml')
    expect(failed.exitCode).toBe(1)
    expect(failed.stderr).toMatch(/test\/fixtures\/compose\/failing-script\.yaml:4:5: postprocess script 2 failed with exit code 3/)
    expect(failed.stderr).toContain('about to fail')
    expect(failed.stderr).not.toMatch(STACK_FRAME)
    expect(await new RepoReader(repo, 'test/failing').revParse()).toBeUndefined()
  })

  test('a package that does not exist names the package and its treefile line', async () => {
    const failed = await commit('missing-package.yaml')
    expect(failed.exitCode).toBe(1)
    expect(failed.stderr).toMatch(/test\/fixtures\/compose\/missing-package\.yaml:4:5: package "apt-ostree-no-such-package": Unable to locate package/)
    expect(await new RepoReader(repo, 'test/missing-package').revParse()).toBeUndefined()
  })

  test('--lockfile-strict with a version the archive does not have and a package it does not have fails naming both, before any install; the ref stays', async () => {
    const lockfile = JSON.parse(readFileSync(path.join(work, 'lock.json'), 'utf8')) as {packages: Record<string, {version: string; architecture: string; digest: string}>}
    const locked = lockfile.packages['base-files'].version
    lockfile.packages['base-files'].version = `${locked}+gone1`
    lockfile.packages['apt-ostree-gone'] = {version: '1.0', architecture: 'all', digest: `sha256:${'0'.repeat(64)}`}
    const edited = path.join(work, 'lock-edited.json')
    writeFileSync(edited, JSON.stringify(lockfile, null, 2))
    const failed = await commit('keys.yaml', '--source-date-epoch', '1767225600', '--lockfile', edited, '--lockfile-strict')
    expect(failed.exitCode).toBe(1)
    const message = failed.stderr.split('\n').find((line) => line.startsWith('--lockfile-strict '))
    expect(message).toContain(`base-files locked at ${locked}+gone1, but the repos give ${locked}`)
    expect(message).toContain('apt-ostree-gone 1.0 is in the lockfile but not in the resolved set')
    expect(failed.stderr).not.toMatch(/\[STARTED\] (customize|ostreeify|commit)/)
    expect(await tree.revParse()).toBe(composeJson.commit)
  })

  test('composefs: yes on trixie (whose ostree lacks composefs) fails before the commit, at the treefile line', async () => {
    const failed = await commit('composefs-on-trixie.yaml')
    expect(failed.exitCode).toBe(1)
    expect(failed.stderr).toMatch(/test\/fixtures\/compose\/composefs-on-trixie\.yaml:3:12: composefs: yes needs an ostree built with composefs, but the tree's ostree 2025\.2 lists no composefs feature/)
    expect(await new RepoReader(repo, 'test/composefs-on-trixie').revParse()).toBeUndefined()
  })

  test('an unreachable repo fails at its treefile line before any work', async () => {
    const treefile = path.join(work, 'unreachable.yaml')
    const port = await closedPort()
    writeFileSync(treefile, `include: ${path.join(repoRoot, 'treefiles/debian-trixie-minimal.yaml')}\nref: test/unreachable\nrepos:\n  - name: nowhere\n    uris: [http://127.0.0.1:${port}/debian]\n    suites: [trixie]\n    signed-by: /usr/share/keyrings/debian-archive-keyring.gpg\n`)
    const failed = await runCli(['compose', 'tree', treefile, '--repo', repo, '--cachedir', cacheDir], {env: {CI: 'true'}})
    expect(failed.exitCode).toBe(1)
    expect(failed.stderr).toContain(`${path.relative(repoRoot, treefile)}:4:5: repo "nowhere": cannot fetch http://127.0.0.1:${port}/debian/dists/trixie/InRelease: ECONNREFUSED`)
    // A --repo the failed compose would have made is not left behind; an empty one stays empty.
    const [absent, empty] = [path.join(work, 'never-made-repo'), path.join(work, 'empty-repo')]
    mkdirSync(empty)
    for (const target of [absent, empty]) {
      const refused = await runCli(['compose', 'tree', treefile, '--repo', target, '--cachedir', cacheDir], {env: {CI: 'true'}})
      expect(refused.exitCode).toBe(1)
    }
    expect(existsSync(absent)).toBe(false)
    expect(readdirSync(empty)).toEqual([])
  })

  test('a repo whose InRelease is not signed is refused unless trusted', async () => {
    const archive = path.join(work, 'unsigned-archive')
    mkdirSync(path.join(archive, 'dists/trixie'), {recursive: true})
    writeFileSync(path.join(archive, 'dists/trixie/InRelease'), 'Origin: nobody\nSuite: trixie\nDate: Thu, 01 Jan 2026 00:00:00 UTC\n')
    const treefile = path.join(work, 'unsigned.yaml')
    writeFileSync(treefile, `include: ${path.join(repoRoot, 'treefiles/debian-trixie-minimal.yaml')}\nref: test/unsigned\nrepos:\n  - name: unsigned\n    uris: [file://${archive}]\n    suites: [trixie]\n    signed-by: /usr/share/keyrings/debian-archive-keyring.gpg\n`)
    const failed = await runCli(['compose', 'tree', treefile, '--repo', repo, '--cachedir', cacheDir], {env: {CI: 'true'}})
    expect(failed.exitCode).toBe(1)
    expect(failed.stderr).toContain(`${path.relative(repoRoot, treefile)}:4:5: repo "unsigned": file://${archive}/dists/trixie/InRelease is not signed; set "trusted: true" to accept an unsigned repo`)
  })

  test('every URI of a repo is checked: an unsigned second one is refused too', async () => {
    const archive = path.join(work, 'unsigned-mirror')
    mkdirSync(path.join(archive, 'dists/trixie'), {recursive: true})
    writeFileSync(path.join(archive, 'dists/trixie/InRelease'), 'Origin: nobody\nSuite: trixie\nDate: Thu, 01 Jan 2026 00:00:00 UTC\n')
    const treefile = path.join(work, 'second-uri.yaml')
    writeFileSync(treefile, `ref: test/second-uri\ncontainer: true\npackages: [systemd]\nrepos:\n  - name: mirrored\n    uris: [http://deb.debian.org/debian, file://${archive}]\n    suites: [trixie]\n    signed-by: /usr/share/keyrings/debian-archive-keyring.gpg\n`)
    const failed = await runCli(['compose', 'tree', treefile, '--dry-run', '--cachedir', cacheDir], {env: {CI: 'true'}})
    expect(failed.exitCode).toBe(1)
    expect(failed.stderr).toContain(`repo "mirrored": file://${archive}/dists/trixie/InRelease is not signed`)
  })

  test('a keyring under /tmp is seen where it is used (the sandbox has its own /tmp)', async () => {
    const keyring = path.join(work, 'debian-keyring.gpg')
    writeFileSync(keyring, readFileSync('/usr/share/keyrings/debian-archive-keyring.gpg'))
    const treefile = path.join(work, 'tmp-keyring.yaml')
    writeFileSync(treefile, `ref: test/tmp-keyring\ncontainer: true\npackages: [systemd]\nrepos:\n  - name: debian\n    uris: [http://deb.debian.org/debian]\n    suites: [trixie]\n    signed-by: ${keyring}\n`)
    const dry = await runCli(['compose', 'tree', treefile, '--dry-run'], {env: {CI: 'true'}})
    expect(dry.stderr.trim()).toMatch(/^\d+ packages$/)
    expect(dry.exitCode).toBe(0)
    expect(dry.stdout).toMatch(/^systemd=\S+$/m)
  })

  test('--dry-run prints the resolved package set and writes nothing', async () => {
    const untouched = path.join(work, 'dry-run')
    const dry = await runCli(['compose', 'tree', `${fixtures}/keys.yaml`, '--dry-run', '--repo', path.join(untouched, 'repo'), '--cachedir', path.join(untouched, 'cache')])
    expect(dry.exitCode).toBe(0)
    const packages = dry.stdout.trim().split('\n')
    expect(packages).toContainEqual(expect.stringMatching(/^systemd=\S+$/))
    expect(packages).toContainEqual(expect.stringMatching(/^linux-image-amd64=\S+$/))
    expect(packages.length).toBeGreaterThan(100)
    expect(existsSync(untouched)).toBe(false)
  })

  test('the work dir is gone after success and failure', () => {
    expect(workDirsSince(cacheDir, workDirsBefore)).toEqual([])
  })
})
