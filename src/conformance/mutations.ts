import { withBranch, type Contract, type JsonSchema } from './contract.js'

export type InvalidKind = 'wrong-type' | 'missing-required' | 'unknown-field' | 'over-limit'

export interface Mutation {
  kind: InvalidKind
  /** JSON pointer of the value changed. */
  pointer: string
  apply(value: unknown): unknown
}

const UNKNOWN_FIELD = 'conformanceUnknownField'

const wrongTypeFor = (type: unknown): unknown => {
  switch (type) {
    case 'string': return 12345
    case 'integer':
    case 'number': return 'not-a-number'
    case 'boolean': return 'yes'
    case 'array': return { notAn: 'array' }
    case 'object': return ['not', 'an', 'object']
    default: return { unexpected: true }
  }
}

/** Replaces the value at `path` inside a copy of `root`; `undefined` removes it. */
function replaceAt(root: unknown, path: (string | number)[], replacement: (current: unknown) => unknown): unknown {
  if (path.length === 0) return replacement(root)
  const copy = structuredClone(root) as Record<string | number, unknown>
  let parent = copy
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>
  const last = path.at(-1)!
  const next = replacement(parent[last])
  if (next === undefined) delete parent[last]
  else parent[last] = next
  return copy
}

/**
 * Every way to make a valid value invalid that the schema itself names: a value of another
 * type, a required field removed, an undeclared field added (where additional properties are
 * refused), a length, count or bound exceeded. Found by walking the value with its schema.
 */
export function mutationsOf(contract: Contract, schema: JsonSchema, value: unknown): Mutation[] {
  const found: Mutation[] = []
  const walk = (rawSchema: JsonSchema, current: unknown, path: (string | number)[]) => {
    const node = contract.resolve(rawSchema)
    const pointer = '/' + path.join('/')
    const branches = (node.anyOf ?? node.oneOf) as JsonSchema[] | undefined
    if (branches) {
      const matching = branches.map((branch) => withBranch(node, branch)).find((branch) => contract.check(branch, current) === undefined)
      if (matching) walk(matching, current, path)
      return
    }
    const at = (kind: InvalidKind, change: (current: unknown) => unknown) =>
      found.push({ kind, pointer, apply: (root) => replaceAt(root, path, change) })
    if (node.type !== undefined && !('const' in node) && !Array.isArray(node.enum)) {
      const type = Array.isArray(node.type) ? node.type[0] : node.type
      at('wrong-type', () => wrongTypeFor(type))
    }
    if (typeof current === 'string') {
      if (typeof node.maxLength === 'number') at('over-limit', () => 'x'.repeat(node.maxLength as number + 1))
      if (Array.isArray(node.enum) || 'const' in node) at('wrong-type', () => `${current}-not-allowed`)
    }
    if (typeof current === 'number') {
      if (typeof node.maximum === 'number') at('over-limit', () => (node.maximum as number) + 1)
      if (typeof node.minimum === 'number') at('over-limit', () => (node.minimum as number) - 1)
    }
    if (Array.isArray(current)) {
      if (typeof node.maxItems === 'number' && current.length > 0) {
        at('over-limit', (items) => Array.from({ length: (node.maxItems as number) + 1 }, (_, i) => (items as unknown[])[i % current.length]))
      }
      if (node.items && typeof node.items === 'object') current.forEach((item, i) => walk(node.items as JsonSchema, item, [...path, i]))
    }
    if (current && typeof current === 'object' && !Array.isArray(current)) {
      const record = current as Record<string, unknown>
      for (const name of (node.required ?? []) as string[]) {
        if (name in record) found.push({ kind: 'missing-required', pointer: `${pointer}/${name}`.replace('//', '/'), apply: (root) => replaceAt(root, [...path, name], () => undefined) })
      }
      if (node.additionalProperties === false) at('unknown-field', (object) => ({ ...(object as object), [UNKNOWN_FIELD]: 'not in the contract' }))
      const properties = (node.properties ?? {}) as Record<string, JsonSchema>
      for (const [name, property] of Object.entries(properties)) {
        if (name in record) walk(property, record[name], [...path, name])
      }
    }
  }
  walk(schema, value, [])
  return found
}
