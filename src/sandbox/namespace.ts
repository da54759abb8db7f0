import {closeSync, openSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {AptOstreeError} from '../errors.js'
import type {RunOptions} from '../tools/exec.js'
import {mapFromParent, mapWithHelper, startNamespaceHolder, type NamespaceHolder} from '../tools/namespaces.js'
import {identityOf, mapLines, type IdMap} from './idmap.js'

/**
 * The user namespaces a build runs in, held open for the length of one
 * command. The sandbox sets up its mounts in the setup namespace (root's
 * own, or for an ordinary user one mapping it to root), then runs the job
 * in the run namespace: a child of the setup one, so nothing that runs in it
 * holds a capability over the mounts it was given. In the run namespace
 * the tree's ids 0-65535 are ids that own nothing on the host.
 */
export class BuildNamespace {
  private constructor(
    readonly idMap: IdMap,
    private readonly holders: NamespaceHolder[],
    /** Holder of the namespace bwrap sets up in; undefined: the host's (we are root). */
    private readonly setup: NamespaceHolder | undefined,
    private readonly runner: NamespaceHolder,
  ) {}

  static async open(idMap: IdMap, run: RunOptions): Promise<BuildNamespace> {
    const holders: NamespaceHolder[] = []
    try {
      if (idMap.privileged) {
        const runner = await startNamespaceHolder()
        holders.push(runner)
        // Root may write any map itself (no newuidmap, no /etc/subuid entry needed).
        await writeFile(`/proc/${runner.pid}/uid_map`, mapLines(idMap.uids))
        await writeFile(`/proc/${runner.pid}/gid_map`, mapLines(idMap.gids))
        return new BuildNamespace(idMap, holders, undefined, runner)
      }
      const setup = await startNamespaceHolder()
      holders.push(setup)
      await mapWithHelper('uid', setup, idMap.uids, run)
      await mapWithHelper('gid', setup, idMap.gids, run)
      const runner = await startNamespaceHolder(setup)
      holders.push(runner)
      await mapFromParent('uid', setup, runner, mapLines(identityOf(idMap.uids)), run)
      await mapFromParent('gid', setup, runner, mapLines(identityOf(idMap.gids)), run)
      return new BuildNamespace(idMap, holders, setup, runner)
    } catch (error) {
      for (const holder of holders) holder.stop()
      if (error instanceof AptOstreeError && /newuidmap|newgidmap/.test(error.message)) {
        throw new AptOstreeError(`${error.message}; the build namespace maps ${idMap.source}`, error.exitCode, error.details)
      }
      throw error
    }
  }

  /**
   * Open file descriptors of the setup and run namespaces, as bwrap's
   * --userns and --userns2 take them; the caller closes them.
   */
  openDescriptors(): {setup?: number; run: number; close: () => void} {
    const setup = this.setup ? openSync(`/proc/${this.setup.pid}/ns/user`, 'r') : undefined
    const runFd = openSync(`/proc/${this.runner.pid}/ns/user`, 'r')
    return {setup, run: runFd, close: () => [setup, runFd].forEach((fd) => fd !== undefined && closeSync(fd))}
  }

  /** The host ids of the tree's root: the owner of everything the sandbox writes. */
  get root(): {uid: number; gid: number} {
    return {uid: this.idMap.uids[0].outer, gid: this.idMap.gids[0].outer}
  }

  close(): void {
    for (const holder of this.holders) holder.stop()
  }
}
