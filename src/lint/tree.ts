/**
 * A filesystem tree as the lint rules see it, whatever it came from: a
 * directory on disk, the layers of an OCI image, or the entries the image
 * writer is about to write. Keys are absolute paths ("/", "/usr/bin/bash").
 */
export interface TreeEntry {
  type: 'file' | 'directory' | 'symlink' | 'other'
  /** Permission bits including setuid/setgid/sticky (07777). */
  mode: number
  uid: number
  gid: number
  /** Bytes, for regular files; 0 otherwise. */
  size: number
  /** Symlink target. */
  target?: string
  /** The entry's name or symlink target is not valid UTF-8 (shown with U+FFFD). */
  invalidUtf8?: boolean
  /** The file's content (regular files only). */
  read?: () => Promise<Buffer>
}

export type FileTree = Map<string, TreeEntry>
