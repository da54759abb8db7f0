import {run, type RunOptions} from './exec.js'

/**
 * Copy an image between two containers-transports(5) references, e.g. from
 * `containers-storage:NAME` or `docker://…` into an `oci:DIR:TAG` layout.
 * Signatures are dropped: an oci layout cannot hold them.
 */
export async function copyImage(source: string, destination: string, options: RunOptions = {}): Promise<void> {
  await run('skopeo', ['copy', '--quiet', '--remove-signatures', source, destination], {label: `skopeo copy ${source}`, ...options})
}
