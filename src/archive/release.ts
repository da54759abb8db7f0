/** A file an InRelease lists: its size and SHA256. */
export interface ReleaseFile {
  sha256: string
  size: number
}

/** What a Release text says: of a checked InRelease, the part gpgv verified only. */
export interface ReleaseInfo {
  /** Seconds since the epoch; 0 when it has no Date. */
  date: number
  /** Seconds since the epoch, when it has a Valid-Until. */
  validUntil?: number
  /** Files can be fetched as by-hash/SHA256/<digest> (Acquire-By-Hash: yes). */
  byHash: boolean
  /** Every file of the SHA256 field, by path relative to dists/SUITE. */
  files: Map<string, ReleaseFile>
  architectures: string[]
  components: string[]
  /** binary-ARCH indices hold the arch:all packages too (No-Support-for-Architecture-all: Packages): no binary-all to read. */
  allInArchIndices: boolean
}

const SIGNED_START = '-----BEGIN PGP SIGNED MESSAGE-----'
const SIGNATURE_START = '-----BEGIN PGP SIGNATURE-----'

/** Whether the text is clearsigned (an InRelease); an unsigned Release is plain fields. */
export function isClearsigned(text: string): boolean {
  return text.startsWith(SIGNED_START)
}

/**
 * The text of a clearsigned file that is not checked (a `trusted` repo's):
 * after the armor headers, before the signature, dash-escaping undone. A
 * checked one is read from what gpgv verified instead (verifyClearsigned):
 * gpgv, not this, knows where its signed part ends.
 */
export function signedText(text: string): string {
  if (!isClearsigned(text)) return text
  const lines = text.split('\n')
  const blank = lines.indexOf('', 1)
  const end = lines.indexOf(SIGNATURE_START)
  if (blank < 0 || end < blank) return ''
  return lines
    .slice(blank + 1, end)
    .map((line) => (line.startsWith('- ') ? line.slice(2) : line))
    .join('\n')
}

function parseDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const time = Date.parse(value)
  return Number.isNaN(time) ? undefined : Math.floor(time / 1000)
}

/** Parse the fields of a Release text: gpgv's output for a checked InRelease, signedText's for one that is not. */
export function parseRelease(text: string): ReleaseInfo {
  const fields = new Map<string, string>()
  let current: string | undefined
  for (const line of text.split('\n')) {
    const field = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line)
    if (field) {
      current = field[1]
      fields.set(current, field[2])
    } else if (/^\s/.test(line) && current) {
      fields.set(current, `${fields.get(current)}\n${line.trim()}`)
    }
  }
  const files = new Map<string, ReleaseFile>()
  for (const entry of (fields.get('SHA256') ?? '').split('\n')) {
    const match = /^([0-9a-f]{64})\s+(\d+)\s+(\S+)$/.exec(entry.trim())
    if (match) files.set(match[3], {sha256: match[1], size: Number(match[2])})
  }
  const words = (name: string): string[] => (fields.get(name) ?? '').split(/\s+/).filter(Boolean)
  return {
    date: parseDate(fields.get('Date')) ?? 0,
    validUntil: parseDate(fields.get('Valid-Until')),
    byHash: /^yes$/i.test(fields.get('Acquire-By-Hash') ?? ''),
    files,
    architectures: words('Architectures'),
    components: words('Components'),
    allInArchIndices: words('No-Support-for-Architecture-all').includes('Packages'),
  }
}
