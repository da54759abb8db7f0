import type {VariableValue} from './conditions.js'
import type {Located, Origins} from './location.js'
import type {DefaultedKey, Repo, Treefile} from './treefile.generated.js'

// The loaded treefile as the later stages see it.

export type ResolvedRepo = Repo & Required<Pick<Repo, 'components' | 'check-valid-until' | 'trusted'>>

/** The merged treefile with defaults applied and the required keys present. */
export type TreefileConfig = Omit<Treefile, 'repos'> &
  Required<Pick<Treefile, DefaultedKey>> & {ref: string; packages: string[]; repos: ResolvedRepo[]}

export interface PackageSpec {
  /** As apt takes it: `name`, `name=version` or `name/suite`. */
  spec: string
  name: string
  origin: Located
}

export interface AddFile {
  source: string
  /** Absolute path in the installed system (`/etc/...`, not `/usr/etc/...`). */
  destination: string
  origin: Located
}

/** A file a treefile names. */
export interface ReferencedFile {
  /** Absolute path, as the treefile resolved it. */
  path: string
  /**
   * The directory (its real path) whose files only the file may be or link
   * to: the naming treefile's. None for keyrings, which may be the system's.
   */
  within?: string
}

export interface ResolvedTreefile {
  /** Absolute path of the top-level treefile. */
  path: string
  arch: string
  treefile: TreefileConfig
  /** Every package to install for `arch`, entries split on whitespace. */
  packages: PackageSpec[]
  addFiles: AddFile[]
  /** Absolute path of `postprocess-script`, when set. */
  postprocessScript?: string
  /** Absolute keyring path by repo name. */
  keyrings: Record<string, string>
  /** Absolute paths of the treefiles loaded, the top-level one first. */
  treefiles: string[]
  /** The other files they name: add-files sources, scripts, keyrings. */
  referencedFiles: ReferencedFile[]
  origins: Origins
  variables: Record<string, VariableValue>
}
