import {pointer, type Origins} from './location.js'

/** A treefile value with the origin of each of its parts. */
export interface Tree {
  value: Record<string, unknown>
  origins: Origins
}

/** Keys that steer loading and are consumed by it, never merged. */
export const INCLUDE_KEYS = ['include', 'arch-include', 'conditional-include'] as const

/** Keys whose mappings are merged key by key (rpm-ostree's dict.update). */
const MAP_KEYS = new Set(['variables', 'add-commit-metadata', 'metadata'])

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function dropOrigins(origins: Origins, ptr: string): void {
  for (const key of [...origins.keys()]) if (key === ptr || key.startsWith(ptr + '/')) origins.delete(key)
}

function copyOrigins(from: Origins, to: Origins, fromPtr: string, toPtr: string): void {
  for (const [key, origin] of from) {
    if (key === fromPtr || key.startsWith(fromPtr + '/')) to.set(toPtr + key.slice(fromPtr.length), origin)
  }
}

/** The origins of a list's items, moved OFFSET places on: one pass over the origins (a list may have 50,000 items). */
function copyListOrigins(from: Origins, to: Origins, listPtr: string, offset: number): void {
  const prefix = listPtr + '/'
  for (const [key, origin] of from) {
    if (!key.startsWith(prefix)) continue
    const rest = key.slice(prefix.length)
    const slash = rest.indexOf('/')
    const index = Number(slash < 0 ? rest : rest.slice(0, slash))
    to.set(`${prefix}${index + offset}${slash < 0 ? '' : rest.slice(slash)}`, origin)
  }
}

export function emptyTree(): Tree {
  return {value: {}, origins: new Map()}
}

/**
 * Merge `over` onto `base` with rpm-ostree's rules: scalars, `over` wins;
 * lists are concatenated, `base` first; the map keys are merged with `over`
 * winning per key. `base` is updated in place and returned.
 */
export function mergeTrees(base: Tree, over: Tree): Tree {
  for (const [key, overValue] of Object.entries(over.value)) {
    if ((INCLUDE_KEYS as readonly string[]).includes(key)) continue
    const ptr = pointer(key)
    const baseValue = base.value[key]
    if (Array.isArray(baseValue) && Array.isArray(overValue)) {
      copyListOrigins(over.origins, base.origins, ptr, baseValue.length)
      base.value[key] = [...baseValue, ...overValue]
      const keyOrigin = over.origins.get(ptr)
      if (keyOrigin) base.origins.set(ptr, keyOrigin)
    } else if (MAP_KEYS.has(key) && isMapping(baseValue) && isMapping(overValue)) {
      for (const entry of Object.keys(overValue)) dropOrigins(base.origins, ptr + pointer(entry))
      copyOrigins(over.origins, base.origins, ptr, ptr)
      base.value[key] = {...baseValue, ...overValue}
    } else {
      dropOrigins(base.origins, ptr)
      copyOrigins(over.origins, base.origins, ptr, ptr)
      base.value[key] = overValue
    }
  }
  return base
}
