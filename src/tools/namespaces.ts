import {readFile} from 'node:fs/promises'
import {execa, type ResultPromise} from 'execa'
import {AptOstreeError} from '../errors.js'
import {run, type RunOptions} from './exec.js'
import {commandNotFound} from './table.js'

/**
 * A process that holds a new user namespace open: `unshare --user` of a
 * `cat` reading a pipe from us, so it ends with us (its stdin closes) and
 * when we kill it. PARENT, when given, is a holder whose namespace the new
 * one is created in (nsenter --user).
 */
export interface NamespaceHolder {
  pid: number
  stop(): void
}

async function unshared(pid: number, child: ResultPromise): Promise<void> {
  // Before unshare(2) the process shows its parent's uid_map; after it, an empty one (nothing is mapped yet).
  for (let attempt = 0; attempt < 500; attempt++) {
    if (child.exitCode !== null) break
    const map = await readFile(`/proc/${pid}/uid_map`, 'utf8').catch(() => undefined)
    if (map === '') return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const result = await child.catch((error: unknown) => error as {stderr?: string; code?: string})
  if ((result as {code?: string}).code === 'ENOENT') throw commandNotFound('unshare')
  throw new AptOstreeError(`could not create a user namespace (unshare --user): ${String((result as {stderr?: string}).stderr ?? '').trim() || 'it exited'}; the kernel may forbid unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone, user.max_user_namespaces)`)
}

export async function startNamespaceHolder(parent?: NamespaceHolder): Promise<NamespaceHolder> {
  const argv = [...(parent ? ['nsenter', `--target=${parent.pid}`, '--user', '--preserve-credentials', '--'] : []), 'unshare', '--user', '--', 'cat']
  const child = execa(argv[0], argv.slice(1), {stdin: 'pipe', stdout: 'ignore', stderr: 'pipe', reject: false, buffer: {stderr: true}})
  const pid = child.pid
  if (pid === undefined) throw commandNotFound(argv[0])
  await unshared(pid, child)
  return {pid, stop: () => void child.kill('SIGKILL')}
}

/** Write HOLDER's uid or gid map with newuidmap/newgidmap: how an ordinary user maps its subordinate ids. */
export async function mapWithHelper(kind: 'uid' | 'gid', holder: NamespaceHolder, extents: Array<{inner: number; outer: number; count: number}>, options: RunOptions): Promise<void> {
  const helper = kind === 'uid' ? 'newuidmap' : 'newgidmap'
  await run(helper, [String(holder.pid), ...extents.flatMap((extent) => [extent.inner, extent.outer, extent.count].map(String))], {label: helper, ...options})
}

/** Write CHILD's uid or gid map from inside PARENT's namespace, where we are root: identity maps of a child namespace. */
export async function mapFromParent(kind: 'uid' | 'gid', parent: NamespaceHolder, child: NamespaceHolder, lines: string, options: RunOptions): Promise<void> {
  await run('nsenter', [`--target=${parent.pid}`, '--user', '--', 'dd', `of=/proc/${child.pid}/${kind}_map`, 'status=none'], {label: `${kind}_map of the build namespace`, input: lines, ...options})
}
