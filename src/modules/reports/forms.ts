import type { ValidateFunction } from 'ajv'
import type { Static, TSchema } from 'typebox'
import { Appendix02Form, Appendix03Form, FeedbackForm, IndicatorsForm, type CustomForm, type ReportFormName } from '../../../schemas/reports.js'
import { fieldErrors } from '../../http/errors.js'
import { HttpProblem } from '../../http/problem.js'
import { compileCallerSchema } from '../../http/validation.js'

export const builtInForms: { name: ReportFormName, schema: TSchema, title: string }[] = [
  { name: 'indicators', schema: IndicatorsForm, title: 'the grassroots-information indicators (số liệu thông tin cơ sở)' },
  { name: 'feedback', schema: FeedbackForm, title: 'the citizen feedback received and answered per commune (phản ánh, kiến nghị của người dân)' },
  { name: 'appendix-02', schema: Appendix02Form, title: 'Phụ lục 02 (results of setting up and extending IT–telecom radio)' },
  { name: 'appendix-03', schema: Appendix03Form, title: 'Phụ lục 03 (the same by funding programme)' },
]
const builtInNames = new Set<string>(builtInForms.map((f) => f.name))

const MAX_SCHEMA_BYTES = 64 * 1024

/** A form refuses fields it does not name, as every built-in one does, unless its schema says otherwise. */
const closed = (schema: Record<string, unknown>) => ('additionalProperties' in schema || 'unevaluatedProperties' in schema ? schema : { ...schema, additionalProperties: false })

/** Why a form central defines cannot be used, or undefined: an object schema of bounded size that compiles. */
export function customFormProblem(form: Static<typeof CustomForm>): string | undefined {
  if (builtInNames.has(form.name)) return `${form.name} is a built-in form; give a custom form another name`
  if (JSON.stringify(form.schema).length > MAX_SCHEMA_BYTES) return `the schema of ${form.name} is larger than ${MAX_SCHEMA_BYTES} bytes`
  if (form.schema.type !== 'object') return `the schema of ${form.name} must describe an object ("type": "object")`
  try {
    compileCallerSchema(closed(form.schema))
  } catch (error) {
    return `the schema of ${form.name} does not compile: ${(error as Error).message}`
  }
  return undefined
}

/** Why an extra period's forms cannot be used, or undefined: each named form is built in or defined with it, each defined one is named. */
export function extraPeriodFormsProblem(forms: string[], custom: Static<typeof CustomForm>[]): string | undefined {
  return custom.map(customFormProblem).find(Boolean) ??
    forms.filter((f) => !builtInNames.has(f) && !custom.some((c) => c.name === f)).map((f) => `form ${f} is neither built in nor in customForms`)[0] ??
    custom.filter((c) => !forms.includes(c.name)).map((c) => `custom form ${c.name} is not in forms`)[0]
}

/** Checks submissions of custom forms against the schema of their period, compiled once per period and form. */
export class CustomFormValidators {
  private readonly compiled = new Map<string, ValidateFunction>()

  check(periodId: string, form: Static<typeof CustomForm>, data: unknown): void {
    const key = `${periodId}/${form.name}`
    let validate = this.compiled.get(key)
    if (!validate) {
      validate = compileCallerSchema(closed(form.schema))
      if (this.compiled.size > 1000) this.compiled.clear()
      this.compiled.set(key, validate)
    }
    if (!validate(data)) {
      const errors = fieldErrors('body', (validate.errors ?? []) as never)
      throw new HttpProblem('validation-failed', errors.slice(0, 3).map((e) => `body ${e.pointer}: ${e.message}`).join('; '), { errors })
    }
  }
}

/** The rules of the feedback form that its schema cannot state: each commune, channel and topic once, answered at most received, communes of the province. */
export function feedbackProblems(form: Static<typeof FeedbackForm>, communesOfProvince: Set<string>): { pointer: string, message: string }[] {
  const problems: { pointer: string, message: string }[] = []
  const seen = new Set<string>()
  form.communes.forEach((line, i) => {
    const at = `/communes/${i}`
    if (seen.has(line.communeCode)) problems.push({ pointer: `${at}/communeCode`, message: `commune ${line.communeCode} has two lines` })
    seen.add(line.communeCode)
    if (!communesOfProvince.has(line.communeCode)) problems.push({ pointer: `${at}/communeCode`, message: `commune ${line.communeCode} is not a commune of the province` })
    for (const [list, key] of [[line.byChannel, 'channel'], [line.byTopic, 'topic']] as const) {
      const keys = new Set<string>()
      list.forEach((entry, j) => {
        const value = (entry as Record<string, unknown>)[key] as string
        if (keys.has(value)) problems.push({ pointer: `${at}/${key === 'channel' ? 'byChannel' : 'byTopic'}/${j}/${key}`, message: `${key} ${value} counted twice` })
        keys.add(value)
        if (entry.answered > entry.received) problems.push({ pointer: `${at}/${key === 'channel' ? 'byChannel' : 'byTopic'}/${j}/answered`, message: 'more answered than received' })
      })
    }
    const channelTotal = line.byChannel.reduce((n, c) => n + c.received, 0)
    const topicTotal = line.byTopic.reduce((n, c) => n + c.received, 0)
    if (line.byTopic.length > 0 && topicTotal !== channelTotal) problems.push({ pointer: `${at}/byTopic`, message: `the topics count ${topicTotal} received, the channels ${channelTotal}` })
  })
  return problems
}
