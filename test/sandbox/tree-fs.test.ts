import {mkdtempSync, rmSync} from 'node:fs'
import {lstat, mkdir, readFile, readlink, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {AptOstreeError} from '../../src/errors.js'
import {TreeFs} from '../../src/sandbox/tree-fs.js'

// Links a package or script planted in a tree lead to the tree's own files,
// never the host's: the host's /tmp/host-* files here must stay untouched.
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-tree-fs-'))
const root = path.join(work, 'tree')
const hostSecret = path.join(work, 'host-secret')
const hostVictim = path.join(work, 'host-victim')
const tree = new TreeFs(root)
afterAll(() => rmSync(work, {recursive: true, force: true}))

beforeAll(async () => {
  await mkdir(path.join(root, 'etc'), {recursive: true})
  await mkdir(path.join(root, 'boot'))
  await mkdir(path.join(root, 'usr/lib'), {recursive: true})
  await writeFile(path.join(root, 'etc/shadow'), 'tree shadow\n')
  await writeFile(hostSecret, 'host secret\n')
  await writeFile(hostVictim, 'host victim\n')
  await symlink(hostSecret, path.join(root, 'boot/vmlinuz'))
  await symlink('../../../../../../..' + hostSecret, path.join(root, 'boot/initrd.img'))
  await symlink(hostVictim, path.join(root, 'usr/lib/treefile.json'))
  await symlink(work, path.join(root, 'usr/lib/escape'))
  await symlink('loop-b', path.join(root, 'loop-a'))
  await symlink('loop-a', path.join(root, 'loop-b'))
})

describe('TreeFs', () => {
  test('an absolute link starts again at the tree root; .. stops there', async () => {
    expect(await tree.resolve('/boot/vmlinuz', true)).toBe(path.join(root, hostSecret))
    expect(await tree.resolve('/boot/initrd.img', true)).toBe(path.join(root, hostSecret))
    expect(await tree.resolve('/../../etc/shadow')).toBe(path.join(root, 'etc/shadow'))
    expect(await tree.readText('/boot/vmlinuz')).toBeUndefined()
    await expect(tree.read('/boot/vmlinuz')).rejects.toThrow(AptOstreeError)
  })

  test('a link to a host directory resolves into the tree', async () => {
    expect(await tree.resolve('/usr/lib/escape/host-secret', true)).toBe(path.join(root, work, 'host-secret'))
    expect(await tree.exists('/usr/lib/escape/host-secret')).toBe(false)
    expect(await tree.list('/usr/lib/escape')).toEqual([])
  })

  test('a write replaces a planted link instead of writing through it', async () => {
    await tree.write('/usr/lib/treefile.json', '{}\n')
    expect((await lstat(path.join(root, 'usr/lib/treefile.json'))).isFile()).toBe(true)
    expect(await readFile(hostVictim, 'utf8')).toBe('host victim\n')
  })

  test('a write below a link to a host directory lands in the tree', async () => {
    await tree.write('/usr/lib/escape/planted', 'x')
    expect(await readFile(path.join(root, work, 'planted'), 'utf8')).toBe('x')
    await expect(lstat(path.join(work, 'planted'))).rejects.toThrow()
  })

  test('chmod refuses a link; remove takes the link, not its target', async () => {
    await expect(tree.chmod('/boot/vmlinuz', 0o777)).rejects.toThrow('/boot/vmlinuz: is a symbolic link in the tree, where a file was expected')
    await tree.remove('/boot/vmlinuz')
    await expect(readlink(path.join(root, 'boot/vmlinuz'))).rejects.toThrow()
    expect(await readFile(hostSecret, 'utf8')).toBe('host secret\n')
    expect((await lstat(hostSecret)).mode & 0o777).toBe(0o644)
  })

  test('a link loop is an error, not a hang', async () => {
    await expect(tree.resolve('/loop-a/x', true)).rejects.toThrow('/loop-a/x: too many symbolic links in the tree (a loop?)')
  })
})
