import type {VariableValue} from './conditions.js'

export class SubstitutionError extends Error {}

/** `${name}` substitution, rpm-ostree style; `$$` is a literal `$`. */
export function substitute(text: string, variables: Record<string, VariableValue>): string {
  return text.replace(/\$\$|\$\{([^}]*)\}/g, (match, name: string | undefined) => {
    if (match === '$$') return '$'
    if (!name || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new SubstitutionError(`"${match}" is not a variable reference`)
    if (!(name in variables)) {
      throw new SubstitutionError(`unknown variable "\${${name}}" (known: ${Object.keys(variables).sort().join(', ')})`)
    }
    return String(variables[name])
  })
}
