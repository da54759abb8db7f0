import {readFileSync} from 'node:fs'
import path from 'node:path'
import {Ajv2020} from 'ajv/dist/2020.js'
import {repoRoot} from './cli.js'

/** The errors of a command's --json document against schemas/output/NAME.schema.json; [] when it conforms. */
export function outputSchemaErrors(name: 'compose-diff' | 'compose-tree' | 'compose-validate' | 'container-lint' | 'vm-boot', document: unknown): string[] {
  return schemaErrors(`output/${name}`, document)
}

/** The errors of DOCUMENT against schemas/NAME.schema.json; [] when it conforms. */
export function schemaErrors(name: string, document: unknown): string[] {
  const schema = JSON.parse(readFileSync(path.join(repoRoot, 'schemas', `${name}.schema.json`), 'utf8')) as object
  const validate = new Ajv2020({allErrors: true, strict: true}).compile(schema)
  return validate(document) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message}`)
}
