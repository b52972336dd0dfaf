import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { TSchema } from 'typebox'
import { TtnApiError } from '../client/http.js'
import { ConfigError } from '../config.js'
import { fieldErrors } from '../http/errors.js'
import { compileValidator } from '../http/validation.js'
import { projectPath } from '../paths.js'

/** The version in the package.json of the installed package, whether the command runs from the sources or from `dist/`. */
export const packageVersion = (): string => (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }).version

/** Line and column (from 1) of a character offset in a text. */
function lineAndColumn(text: string, offset: number): { line: number, column: number } {
  const before = text.slice(0, offset).split('\n')
  return { line: before.length, column: before.at(-1)!.length + 1 }
}

/** V8 shows this many characters before the token it stopped at, after a leading `...`. */
const V8_CONTEXT_BEFORE = 10

/**
 * Where JSON.parse stopped: the position its message gives, or else the place of the
 * excerpt V8 quotes around an unexpected token; the end for a text cut short.
 */
function failurePosition(text: string, message: string): number {
  const position = /at position (\d+)/.exec(message)?.[1]
  if (position !== undefined) return Number(position)
  const excerpt = /^Unexpected token '(.)', (\.\.\.)?"([\s\S]*?)"(?:\.\.\.)? is not valid JSON$/.exec(message)
  if (!excerpt) return text.length
  const [, token, cut, context] = excerpt
  if (!cut) return Math.max(0, context!.indexOf(token!))
  const start = text.indexOf(context!)
  return start < 0 ? text.length : start + V8_CONTEXT_BEFORE
}

/**
 * Reads a JSON file; a file that is not JSON is named with the line and column where it
 * stops being JSON, and with `schema`, each field that does not fit it with what it must be.
 */
export async function readJsonFile<T>(file: string, schema?: TSchema): Promise<T> {
  const text = await readFile(file, 'utf8')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    const message = (error as Error).message
    const at = lineAndColumn(text, failurePosition(text, message))
    const reason = message.replace(/ (in JSON )?at position \d+.*$/, '').replace(/^(Unexpected token '.'), [\s\S]*$/, '$1')
    throw new Error(`${file}: line ${at.line}, column ${at.column}: not valid JSON: ${reason}`)
  }
  if (schema) {
    const validate = compileValidator(schema)
    if (!validate(value)) {
      const problems = fieldErrors('body', (validate.errors ?? []) as never).map((e) => `${e.pointer} ${e.message}`)
      throw new Error(`${file}: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? `; and ${problems.length - 10} more` : ''}`)
    }
  }
  return value as T
}

/** One line (and, for a validation problem, one more per field) saying what failed, for standard error. */
export function describeFailure(error: unknown): string {
  if (error instanceof ConfigError) return `invalid configuration: ${error.message}`
  if (error instanceof TtnApiError && error.problem?.errors?.length) {
    const fields = error.problem.errors.map((field) => `  ${field.in} ${field.pointer}: ${field.message}`)
    return `${error.message}\n${fields.join('\n')}`
  }
  return (error as Error).message
}
