import {randomUUID} from 'node:crypto'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {readdir, readFile, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {SANDBOX_CACHE, SANDBOX_PROCESSES} from '../../src/sandbox/bwrap.js'
import {repoRoot, runCli, STACK_FRAME, type CliResult} from '../helpers/cli.js'
import {writeLocalArchive} from '../helpers/local-archive.js'
import {fsckProblems, RepoReader} from '../helpers/ostree.js'
import {processesMentioning} from '../helpers/processes.js'

// A treefile and a package that attack the build host on purpose: a
// postinst (run by dpkg during the bootstrap) and a postprocess script that
// try to write host files, remount the host, write sysctls, reach the
// network, fork without bound and plant links for the tool's own steps to
// follow. The host must come out unchanged, the commit correct. Then the
// caches are damaged and must be rebuilt, not trusted. Its own cache dir
// (the shared cache's archive linked in, to skip downloads) and repos.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-hostile-'))
const cacheDir = path.join(work, 'cache')
const repo = path.join(work, 'repo')
const hostSecret = path.join(work, 'host-secret')
const hostVictim = path.join(work, 'host-victim')
const ref = 'test/13/amd64/hostile'
/** What the host secret holds: text no file of a Debian tree has, to look for copies of it. */
const SECRET_TEXT = `apt-ostree host secret ${randomUUID()}`
const out = '/usr/share/apt-ostree-hostile'

/** Host state a sandboxed job must not change: sysctls (global and namespaced), the host's files. */
const SYSCTLS = ['kernel/printk_ratelimit_burst', 'kernel/core_pattern', 'kernel/hostname', 'kernel/domainname', 'vm/overcommit_memory']

async function hostState(): Promise<Record<string, string>> {
  const state: Record<string, string> = {}
  for (const name of SYSCTLS) state[name] = await readFile(`/proc/sys/${name}`, 'utf8')
  for (const file of [hostSecret, hostVictim]) {
    const info = await stat(file)
    state[file] = `${(info.mode & 0o7777).toString(8)} ${info.uid}:${info.gid} ${info.mtimeMs} ${await readFile(file, 'utf8')}`
  }
  // Nothing new in the test's directory but what the test itself writes there (treefiles, scripts, repos).
  state.work = (await readdir(work)).filter((name) => !/\.(yaml|sh)$|repo$/.test(name)).sort().join(' ')
  for (const proof of ['/apt-ostree-proof', '/usr/apt-ostree-proof', '/usr/share/mmdebstrap/apt-ostree-proof', '/tmp/apt-ostree-proof']) state[proof] = String(existsSync(proof))
  return state
}

// Each probe's outcome (yes: it worked, in the sandbox's own view; no: refused) lands in the tree.
const POSTINST = `#!/bin/sh
out=${out}
mkdir -p $out
try() { name=$1; shift; if ( "$@" ) >$out/$name.log 2>&1; then echo yes; else echo no; fi > $out/$name; }
try write-host-path sh -c 'echo pwned > ${hostVictim}'
try write-through-proc sh -c 'echo pwned > /proc/1/root${hostVictim}'
try read-shadow sh -c 'cat /proc/1/root/etc/shadow'
try remount-usr sh -c 'mount -o remount,bind,rw /proc/1/root/usr && touch /proc/1/root/usr/apt-ostree-proof'
# /usr/share/mmdebstrap is the host's (seen through pid 1's root), not the tree's.
try bind-root sh -c 'mkdir -p /tmp/h; mount --bind /proc/1/root /tmp/h || exit 1; (mount -o remount,bind,rw /tmp/h && touch /tmp/h/usr/share/mmdebstrap/apt-ostree-proof); r=$?; umount -l /tmp/h; exit $r'
try sysctl-printk sh -c 'echo 1 > /proc/sys/kernel/printk_ratelimit_burst'
try sysctl-core-pattern sh -c 'echo "|/bin/false" > /proc/sys/kernel/core_pattern'
try sysctl-overcommit sh -c 'echo 2 > /proc/sys/vm/overcommit_memory'
try hostname sh -c 'echo apt-ostree-hostile > /proc/sys/kernel/hostname'
try network perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(PeerAddr => "151.101.2.132:80", Timeout => 5) ? 0 : 1)'
try block-device sh -c 'mknod /tmp/sda b 8 0 && head -c 1 /tmp/sda'
# The cache as mmdebstrap's view shows it: its logs, its other trees and their records.
try read-cache-logs sh -c 'ls /proc/1/root${SANDBOX_CACHE}/logs | grep .'
try write-cached-trees sh -c 'touch /proc/1/root${SANDBOX_CACHE}/rootfs/planted'
try write-records sh -c 'touch /proc/1/root${SANDBOX_CACHE}/records/planted'
# Fork until refused; count, then stop them all.
perl -e 'my @children; for (1..4000) { my $pid = fork; last unless defined $pid; if ($pid == 0) { sleep 300; exit 0 } push @children, $pid } print scalar(@children), "\\n"; kill "KILL", @children; waitpid($_, 0) for @children' > $out/forks
id -u > $out/uid
exit 0
`

// Links for the tool's steps after it: treefile.json and machine-id are written by it, /var is walked.
const PLANT_LINKS = `#!/bin/sh
set -e
mkdir -p /usr/share/apt-ostree /var/lib
ln -sf ${hostVictim} /usr/share/apt-ostree/treefile.json
ln -sf ${hostVictim} /etc/machine-id
ln -sfn ${work} /var/lib/hostile-link
# The tree's dracut, which the kernel step runs: the real one, then probes of the host and the cache.
mv /usr/bin/dracut /usr/bin/dracut.real
cat > /usr/bin/dracut <<'EOS'
#!/bin/sh
/usr/bin/dracut.real "$@" || exit $?
out=${out}
try() { name=$1; shift; if ( "$@" ) >/dev/null 2>&1; then echo yes; else echo no; fi > $out/$name; }
try dracut-write-host sh -c 'echo pwned > ${hostVictim}'
try dracut-write-through-proc sh -c 'echo pwned > /proc/1/root${hostVictim}'
try dracut-read-cache sh -c 'ls /proc/1/root${SANDBOX_CACHE}/logs | grep .'
try dracut-plant-in-work-dir sh -c 'ln -s ${hostSecret} /proc/1/root${SANDBOX_CACHE}/work/planted'
exit 0
EOS
chmod 755 /usr/bin/dracut
`

// The kernel the kernel step copies and chmods, as links to a host file (mode 0600).
const PLANT_KERNEL_LINKS = `#!/bin/sh
set -e
kver=$(ls /usr/lib/modules)
ln -sf ${hostSecret} /usr/lib/modules/$kver/vmlinuz
ln -sf ${hostSecret} /boot/vmlinuz-$kver
`

function treefile(name: string, script: string): string {
  writeFileSync(path.join(work, `${name}.sh`), script, {mode: 0o755})
  const file = path.join(work, `${name}.yaml`)
  writeFileSync(file, [
    `include: ${path.join(repoRoot, 'treefiles/debian-trixie-minimal.yaml')}`,
    `ref: ${ref}`,
    'repos:',
    '  - name: hostile',
    `    uris: ["file://${path.join(work, 'archive')}"]`,
    '    suites: [trixie]',
    '    trusted: true',
    'packages: [apt-ostree-hostile]',
    `postprocess-script: ${name}.sh`,
    '',
  ].join('\n'))
  return file
}

const compose = (file: string, ...extra: string[]): Promise<CliResult> =>
  runCli(['compose', 'tree', file, '--cachedir', cacheDir, '--source-date-epoch', '1767225600', ...extra], {env: {CI: 'true'}})

let before: Record<string, string>
let first: CliResult
const tree = new RepoReader(repo, ref)

beforeAll(async () => {
  writeFileSync(hostSecret, `${SECRET_TEXT}\n`, {mode: 0o600})
  writeFileSync(hostVictim, 'host victim\n', {mode: 0o644})
  await writeLocalArchive(path.join(work, 'archive'), 'trixie', 'amd64', [{name: 'apt-ostree-hostile', version: '1.0', description: 'attacks the build host from its postinst', scripts: {postinst: POSTINST}}])
  // The cache dir exists before the host state is taken, whether or not the shared archive is there yet.
  await execa('mkdir', ['-p', cacheDir])
  const shared = path.join(repoRoot, '.cache/test/archive')
  // A compose in the other lane may be adding to the shared archive: a file
  // that vanishes mid-copy fails cp, and what was copied is still good (the
  // store checks each file's sha256 before use).
  if (existsSync(shared)) await execa('cp', ['-al', shared, path.join(cacheDir, 'archive')], {reject: false})
  before = await hostState()
  first = await compose(treefile('plant-links', PLANT_LINKS), '--repo', repo)
})

afterAll(() => rmSync(work, {recursive: true, force: true}))

describe('a hostile package and treefile', () => {
  test('the compose succeeds; the host is as it was; nothing the test started is left running', async () => {
    expect(first.stderr).not.toMatch(STACK_FRAME)
    expect(first.exitCode, first.stderr.slice(-3000)).toBe(0)
    expect(await hostState()).toEqual(before)
    expect(await processesMentioning(work)).toEqual([])
  })

  test('the postinst ran as root of the tree, could not reach the host, the network or a disk, and its forks were bounded', async () => {
    expect(await tree.cat(`${out}/uid`)).toBe('0\n')
    for (const probe of ['write-host-path', 'write-through-proc', 'read-shadow', 'remount-usr', 'bind-root', 'sysctl-printk', 'sysctl-core-pattern', 'sysctl-overcommit', 'network', 'block-device', 'read-cache-logs', 'write-cached-trees', 'write-records']) {
      expect(`${probe}: ${await tree.cat(`${out}/${probe}`)}`).toBe(`${probe}: no\n`)
    }
  })

  test("the tree's own dracut, a script around the real one, reached neither the host nor the cache", async () => {
    for (const probe of ['dracut-write-host', 'dracut-write-through-proc', 'dracut-read-cache', 'dracut-plant-in-work-dir']) {
      expect(`${probe}: ${await tree.cat(`${out}/${probe}`)}`).toBe(`${probe}: no\n`)
    }
    const forks = Number(await tree.cat(`${out}/forks`))
    expect(forks).toBeGreaterThan(10)
    expect(forks).toBeLessThan(SANDBOX_PROCESSES)
  })

  test('planted links are replaced by what the tool writes, never followed', async () => {
    expect((await tree.stat('/usr/share/apt-ostree/treefile.json'))?.mode).toBe('-00644')
    expect(JSON.parse(await tree.cat('/usr/share/apt-ostree/treefile.json')).ref).toBe(ref)
    expect(await tree.stat('/usr/etc/machine-id')).toEqual({mode: '-00444', target: undefined})
    expect(await tree.cat('/usr/etc/machine-id')).toBe('')
    expect(readFileSync(hostVictim, 'utf8')).toBe('host victim\n')
  })

  test('the repo passes ostree fsck', async () => {
    expect(await fsckProblems(repo)).toBeUndefined()
  })

  test('links to a host file as the kernel: the compose fails naming the path, the host file keeps its mode, nothing is committed', async () => {
    const kernelRepo = path.join(work, 'kernel-repo')
    const result = await compose(treefile('plant-kernel-links', PLANT_KERNEL_LINKS), '--repo', kernelRepo)
    expect(result.stderr).not.toMatch(STACK_FRAME)
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toMatch(/^\/(boot|usr\/lib\/modules\/[^/]+)\/vmlinuz\S*: not a regular file in the tree$/m)
    expect(statSync(hostSecret).mode & 0o7777).toBe(0o600)
    expect(await hostState()).toEqual(before)
    expect(await new RepoReader(kernelRepo, ref).revParse()).toBeUndefined()
  })
})

describe('caches that cannot lie', () => {
  test('a damaged bootstrapped tree and a corrupted staging object are found, rebuilt with a warning; the output is whole', async () => {
    // The cached tree loses /usr/bin/ls.
    const entries = readdirSync(path.join(cacheDir, 'rootfs')).filter((name) => /^[0-9a-f]{64}$/.test(name))
    expect(entries).toHaveLength(1)
    rmSync(path.join(cacheDir, 'rootfs', entries[0], 'usr/bin/ls'))
    // A file object of the staging repo gets other bytes of the same size.
    const objects = path.join(cacheDir, 'staging-repo/objects')
    const files = readdirSync(objects).flatMap((prefix) => readdirSync(path.join(objects, prefix)).filter((name) => name.endsWith('.file')).map((name) => path.join(objects, prefix, name)))
    const victim = files.map((file) => ({file, size: statSync(file).size})).filter((entry) => entry.size > 4096).sort((a, b) => b.size - a.size)[0]
    const bytes = readFileSync(victim.file)
    bytes.fill(0x58, 0, 64)
    await writeFile(victim.file, bytes)

    const fresh = path.join(work, 'fresh-repo')
    const result = await compose(path.join(work, 'plant-links.yaml'), '--repo', fresh, '--add-metadata-string', 'apt-ostree.test=rebuilt')
    expect(result.stderr).not.toMatch(STACK_FRAME)
    expect(result.exitCode, result.stderr.slice(-3000)).toBe(0)
    expect(result.stderr).toContain('the cached bootstrapped tree is not as it was stored (a damaged cache): bootstrapping again')
    expect(result.stderr).toMatch(/the staging repo failed ostree fsck \(.*\): building it again/)
    const rebuilt = new RepoReader(fresh, ref)
    expect((await rebuilt.stat('/usr/bin/ls'))?.mode).toMatch(/^-/)
    expect(await fsckProblems(fresh)).toBeUndefined()
    expect(await fsckProblems(path.join(cacheDir, 'staging-repo'))).toBeUndefined()
  })
})

// The target's own programs run when a commit is deployed or made a disk
// (its ostree, its grub-mkimage): a commit whose programs are scripts that
// attack the host-side steps after them. The commits are the first
// compose's, with the programs overlaid (ostree commit --tree=ref --tree=dir).
const HOSTILE_GRUB_MKIMAGE = `#!/bin/sh
# The loader as a link to a host file, and links where the host's later steps might look.
ln -s ${hostSecret} /out/BOOTX64.EFI
ln -s ${hostVictim} /out/esp.img
ln -s /dev/vda /out/root.img
exit 0
`

// The real ostree deploys; then the entry's kernel is made a path out of /boot.
const HOSTILE_OSTREE = `#!/bin/sh
/usr/bin/ostree.real "$@" || exit $?
case "$*" in *"admin deploy"*)
  for entry in /sysroot/boot/loader/entries/*.conf; do sed -i 's|^linux .*|linux /../../../../../../../..${hostSecret}|' "$entry"; done ;;
esac
`

async function hostileCommit(branch: string, files: Record<string, string | Uint8Array>): Promise<void> {
  const overlay = path.join(work, `${branch.replaceAll('/', '-')}-overlay`)
  for (const [file, content] of Object.entries(files)) {
    const target = path.join(overlay, file)
    await execa('mkdir', ['-p', path.dirname(target)])
    await writeFile(target, content, {mode: 0o755})
  }
  await execa('ostree', [`--repo=${repo}`, 'commit', `--branch=${branch}`, '--bootable', `--tree=ref=${ref}`, `--tree=dir=${overlay}`, '--owner-uid=0', '--owner-gid=0', '--no-bindings'])
  rmSync(overlay, {recursive: true, force: true})
}

describe("a tree's hostile ostree and grub-mkimage", () => {
  const grubBranch = 'test/13/amd64/hostile-grub'
  const ostreeBranch = 'test/13/amd64/hostile-ostree'

  beforeAll(async () => {
    await hostileCommit(grubBranch, {'usr/bin/grub-mkimage': HOSTILE_GRUB_MKIMAGE})
    const realOstree = (await execa('ostree', [`--repo=${repo}`, 'cat', ref, '/usr/bin/ostree'], {encoding: 'buffer'})).stdout
    await hostileCommit(ostreeBranch, {'usr/bin/ostree': HOSTILE_OSTREE, 'usr/bin/ostree.real': realOstree})
  })

  test('compose disk-image: the links grub-mkimage left are refused; no host file is read or written, no disk is made', async () => {
    const disk = path.join(work, 'hostile.raw')
    const result = await runCli(['compose', 'disk-image', '--repo', repo, grubBranch, '-o', disk, '--cachedir', cacheDir])
    expect(result.stderr).not.toMatch(STACK_FRAME)
    expect(result.exitCode, result.stderr.slice(-3000)).toBe(1)
    expect(result.stderr).toContain('the target\'s grub-mkimage output "BOOTX64.EFI": a symbolic link on the way; refused')
    expect(existsSync(disk)).toBe(false)
    expect(await hostState()).toEqual(before)
  })

  test('vm boot and vm upgrade: a boot entry whose kernel leads out of /boot is refused before anything reads it', async () => {
    const refused = /the boot entry's kernel or initramfs "(?:\.\.\/)+.*host-secret": not a path below its directory; refused/
    const boot = await runCli(['vm', 'boot', '--repo', repo, ostreeBranch, '--cachedir', cacheDir, '--keep'])
    // A disk (compose disk-image, and vm upgrade's) is made from the same deploy: refused at the same entry.
    const upgrade = await runCli(['vm', 'upgrade', '--repo', repo, '--from', ostreeBranch, ref, '--cachedir', cacheDir])
    for (const result of [boot, upgrade]) {
      expect(result.stderr).not.toMatch(STACK_FRAME)
      expect(result.exitCode, result.stderr.slice(-3000)).toBe(1)
      expect(result.stderr).toMatch(refused)
    }
    // Nothing was kept: QEMU never started, no copy of the secret anywhere in the cache.
    expect(existsSync(path.join(cacheDir, 'vm'))).toBe(false)
    const copies = await execa('grep', ['-rlF', SECRET_TEXT, cacheDir], {reject: false})
    expect(copies.stdout.split('\n').filter((file) => file && !file.includes('/logs/'))).toEqual([])
    expect(await hostState()).toEqual(before)
  })
})
