/** One member of a cpio archive in the "newc" format (what dracut writes). */
export interface CpioEntry {
  name: string
  mode: number
  data: Buffer
}

const NEWC_MAGIC = '070701'
const HEADER = 110

/** The members of ARCHIVE, in order; concatenated archives (and the zeros between them) are read through. */
export function cpioEntries(archive: Buffer): CpioEntry[] {
  const entries: CpioEntry[] = []
  let offset = 0
  while (offset < archive.length) {
    if (archive.toString('latin1', offset, offset + 6) !== NEWC_MAGIC) {
      const next = archive.indexOf(NEWC_MAGIC, offset, 'latin1')
      if (next < 0) break
      offset = next
    }
    const field = (index: number) => Number.parseInt(archive.toString('latin1', offset + 6 + 8 * index, offset + 14 + 8 * index), 16)
    const [mode, size, nameSize] = [field(1), field(6), field(11)]
    const name = archive.toString('utf8', offset + HEADER, offset + HEADER + nameSize - 1)
    const start = (offset + HEADER + nameSize + 3) & ~3
    if (name !== 'TRAILER!!!') entries.push({name, mode, data: archive.subarray(start, start + size)})
    offset = (start + size + 3) & ~3
  }
  return entries
}
