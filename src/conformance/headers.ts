import type { Contract, ResponseObject } from './contract.js'
import type { Answer } from './http.js'

/**
 * Whether an answer carries the headers its response declares: each declared `required` is
 * there, and each one present matches its schema. Names compare without regard to case.
 */
export function headerProblem(contract: Contract, response: ResponseObject | undefined, answer: Answer): string | undefined {
  const problems: string[] = []
  for (const [name, declared] of Object.entries(response?.headers ?? {})) {
    const value = answer.headers[name.toLowerCase()]
    if (value === undefined) {
      if (declared.required) problems.push(`${name} is required but missing`)
      continue
    }
    if (declared.schema && !contract.acceptsText(declared.schema, value)) problems.push(`${name}: ${JSON.stringify(value.slice(0, 80))} does not match its schema`)
  }
  return problems.length > 0 ? `status ${answer.status}: ${problems.join('; ')}` : undefined
}
