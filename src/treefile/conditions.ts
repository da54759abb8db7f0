/**
 * `conditional-include` conditions, as rpm-ostree reads them:
 * `NAME OP VALUE`, OP one of == != < <= > >=, VALUE a number, true/false or a
 * quoted string. Comparing values of different types is an error, not false.
 */
export type VariableValue = string | number | boolean

const CONDITION = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|<=|>=|<|>)\s*(.*?)\s*$/

export class ConditionError extends Error {}

function parseLiteral(text: string): VariableValue {
  if (text === 'true' || text === 'false') return text === 'true'
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text)
  const quoted = /^'([^']*)'$|^"([^"]*)"$/.exec(text)
  if (quoted) return quoted[1] ?? quoted[2]
  throw new ConditionError(`cannot read value ${JSON.stringify(text)}: use a number, true, false or a quoted string`)
}

export function evaluateCondition(condition: string, variables: Record<string, VariableValue>): boolean {
  const match = CONDITION.exec(condition)
  if (!match) throw new ConditionError(`cannot read condition ${JSON.stringify(condition)}: expected NAME OP VALUE with OP one of == != < <= > >=`)
  const [, name, op, literal] = match
  if (literal === '') throw new ConditionError(`condition ${JSON.stringify(condition)} has no value after "${op}"`)
  if (!(name in variables)) throw new ConditionError(`unknown variable "${name}" in condition (known: ${Object.keys(variables).sort().join(', ')})`)
  const left = variables[name]
  const right = parseLiteral(literal)
  if (typeof left !== typeof right) {
    throw new ConditionError(`cannot compare ${typeof left} variable "${name}" with ${typeof right} ${JSON.stringify(right)}`)
  }
  if (typeof left === 'boolean' && op !== '==' && op !== '!=') {
    throw new ConditionError(`operator "${op}" does not apply to boolean variable "${name}"`)
  }
  switch (op) {
    case '==':
      return left === right
    case '!=':
      return left !== right
    case '<':
      return left < right
    case '<=':
      return left <= right
    case '>':
      return left > right
    default:
      return left >= right
  }
}
