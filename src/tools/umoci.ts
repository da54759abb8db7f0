import {run, type RunOptions} from './exec.js'

/** Unpack an OCI layout's image into DEST as a plain root filesystem, owners and xattrs kept (needs root). */
export async function umociUnpack(layoutDir: string, tag: string, destination: string, options: RunOptions = {}): Promise<void> {
  await run('umoci', ['raw', 'unpack', '--image', `${layoutDir}:${tag}`, destination], {label: 'umoci raw unpack', ...options})
}
