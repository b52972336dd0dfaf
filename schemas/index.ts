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

/** Every named component of the contract, registered once with the validator, the serializer and OpenAPI. */
export const components: TSchema[] = [
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
]
