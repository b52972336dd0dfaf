import type { TSchema } from 'typebox'
import { Problem, ProblemFieldError, ProblemType } from './common.js'
import { catalogueComponents } from './catalogue.js'
import { contentComponents } from './content.js'
import { mediaComponents } from './media.js'
import { registryComponents } from './registry.js'
import { reportsComponents } from './reports.js'
import { schedulesComponents } from './schedules.js'
import { availabilityComponents } from './availability.js'
import { statusComponents } from './status.js'
import { trendsComponents } from './trends.js'
import { summariesComponents } from './summaries.js'
import { systemsComponents } from './systems.js'
import { transparencyComponents } from './transparency.js'
import { trustComponents } from './trust.js'
import { componentExamples } from './examples.js'

/** A component with its example from `examples.ts`, when it has one there and none of its own. */
function withExample(component: TSchema): TSchema {
  const value = componentExamples.get((component as { $id?: string }).$id ?? '')
  if (value === undefined) return component
  if ((component as { examples?: unknown[] }).examples) throw new Error(`${String((component as { $id?: string }).$id)} has an example of its own`)
  return { ...component, examples: [value] }
}

/** Every named component of the contract, registered once with the validator, the serializer and OpenAPI. */
export const components: TSchema[] = ([
  ProblemFieldError, Problem, ProblemType,
  ...catalogueComponents,
  ...trustComponents,
  ...transparencyComponents,
  ...systemsComponents,
  ...registryComponents,
  ...reportsComponents,
  ...statusComponents,
  ...availabilityComponents,
  ...trendsComponents,
  ...summariesComponents,
  ...mediaComponents,
  ...contentComponents,
  ...schedulesComponents,
] as TSchema[]).map(withExample)
