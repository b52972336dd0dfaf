import type { TSchema } from 'typebox'
import { Problem, ProblemFieldError, ProblemType } from './common.js'
import { catalogueComponents } from './catalogue.js'

/** Every named component of the contract, registered once with the validator, the serializer and OpenAPI. */
export const components: TSchema[] = [
  ProblemFieldError, Problem, ProblemType,
  ...catalogueComponents,
]
