import {run, type RunOptions} from './exec.js'

/**
 * Host programs as ELF files: what they need to start (`patchelf
 * --print-interpreter`, `ldd`) and where they look for it (`patchelf`).
 * Only for the host's own programs: ldd may run what it inspects.
 */

/** The dynamic loader PROGRAM names and the shared libraries it loads, as host paths. */
export async function loaderAndLibraries(program: string, options: RunOptions = {}): Promise<{loader: string; libraries: string[]}> {
  const loader = (await run('patchelf', ['--print-interpreter', program], options)).stdout.trim()
  const {stdout} = await run('ldd', [program], options)
  // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)"; the vDSO and the loader have no "=> path".
  const libraries = [...stdout.matchAll(/^\s*\S+ => (\/\S+) \(0x[0-9a-f]+\)$/gm)].map((match) => match[1])
  return {loader, libraries}
}

/** Make PROGRAM load with LOADER and find its libraries in DIRECTORY only (DT_RPATH, which its libraries' own lookups follow too). */
export async function relink(program: string, loader: string, directory: string, options: RunOptions = {}): Promise<void> {
  await run('patchelf', ['--set-interpreter', loader, '--force-rpath', '--set-rpath', directory, program], options)
}
