/**
 * Characters a terminal or a text viewer acts on instead of showing: C0 and
 * C1 controls (ESC starts an escape sequence), DEL, and the invisible
 * formatting ones that reorder or hide text (bidi overrides and isolates,
 * zero-width characters, the BOM).
 */
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/gu

/**
 * TEXT as it may be shown on a terminal or written to a log: every
 * character that would act instead of show written as an escape (\x1b,
 * \u202e); newlines and tabs stay. What a treefile or a package says never
 * becomes a terminal escape.
 */
export function printable(text: string): string {
  return text.replace(INVISIBLE, (char) => {
    const code = char.codePointAt(0)!
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}

/** The most of a user's value a message quotes: enough to find it, not a whole file. */
export const QUOTED_CHARACTERS = 60

/** A URI's user:password@ part, which a message must never show. */
const CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/giu

/**
 * A user's string as a message quotes it: in double quotes, escaped, at most
 * LIMIT (QUOTED_CHARACTERS) long, with any URI's credentials hidden.
 */
export function quoted(value: string, limit = QUOTED_CHARACTERS): string {
  const text = value.replace(CREDENTIALS, '$1***@')
  const cut = [...text].length > limit ? `${[...text].slice(0, limit).join('')}…` : text
  const json = JSON.stringify(cut)
  return [...text].length > limit ? `${printable(json)} (${[...text].length} characters)` : printable(json)
}

/** A before B by UTF-16 code units, as a sort comparator: the same order on every machine and locale. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
