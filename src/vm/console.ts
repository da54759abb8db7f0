// What a boot's serial console says, as text: the lines the watch in
// qemu.ts reads for the target, failures, journal errors and the login prompt.

// Colour and cursor codes, the two-byte escapes (ESC M, reverse line feed)
// systemd writes when it redraws its "Job ... running" line, and operating
// system commands whole (ESC ] ... BEL or ESC \: a window title, a
// clipboard write), so that none of their text is left in the line. What
// else a guest sends is escaped where a line is shown (printable()).
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b(?:\][^\x07\x1b]*(?:\x07|\x1b\\)?|\[[0-9;?]*[A-Za-z]|[@-Z\\-_])/g
// systemd ellipsizes status lines in the middle ("…"), and the cut may take
// a colour code's escape byte and leave its rest ("…[0m").
const CUT_COLOUR = /…\[[0-9;]*m/g
/** A console line as text: no colour or cursor codes, no carriage returns, no indent. */
export function consoleText(raw: string): string {
  return raw.replace(ANSI, '').replace(CUT_COLOUR, '…').replace(/\r/g, '').trim()
}

/**
 * Kernel arguments that make journald copy err-level (and worse) messages
 * to the console, where the watch sees them. Only direct kernel boots get
 * them: a disk's command line is the disk's.
 */
export const JOURNAL_ERRORS_KARGS = ['systemd.journald.forward_to_console=1', 'systemd.journald.max_level_console=err']

/**
 * A journal message on the console: `IDENT[PID]: text`, after the time
 * stamp journald copies from the kernel's format. systemd itself and journald also write such lines to the
 * kernel log at lower levels before the journal runs, so their own are left
 * out; any other program's is one journald forwarded at err level.
 */
export function journalLine(line: string): string | undefined {
  // A program's name and pid (the kernel's own "IOAPIC[0]:" lines are upper case, pid 0).
  const message = /^(?:\[\s*\d+\.\d+\]\s+)?([a-z][\w@.-]*)\[[1-9]\d*\]: (.+)$/.exec(line)
  if (!message || message[1] === 'systemd' || message[1] === 'systemd-journald') return undefined
  return `${message[1]}: ${message[2]}`
}

/** A getty's prompt ("localhost login: "), as a whole console line or the unfinished last one. */
export function isLoginPrompt(text: string): boolean {
  return /(^|\s)login:\s*$/.test(text.replace(/\r/g, ''))
}
