import { Type } from 'typebox'
import { Strict, ref, ProblemType } from '../../schemas/common.js'
import type { App } from '../app-type.js'
import { HttpProblem, problemTypes, problemTypeUri, type ProblemCode } from './problem.js'
import { problemResponses } from './responses.js'

const describe = (code: ProblemCode) => ({ type: problemTypeUri(code), code, ...problemTypes[code] })

/** The catalogue of problem codes, so a `type` URI in a problem document resolves to its meaning. */
export async function problemRoutes(app: App) {
  app.get('/problems', {
    config: { policy: 'public' },
    schema: {
      tags: ['problems'],
      summary: 'List every problem type',
      operationId: 'listProblemTypes',
      response: { 200: Type.Array(ref(ProblemType), { description: 'Every problem type, by code.', examples: [(['validation-failed', 'token-expired'] as const).map(describe)] }) },
    },
  }, async () => (Object.keys(problemTypes) as ProblemCode[]).map(describe))

  app.get('/problems/:code', {
    config: { policy: 'public' },
    schema: {
      tags: ['problems'],
      summary: 'Describe one problem type',
      operationId: 'getProblemType',
      params: Strict({ code: Type.String({ maxLength: 64, description: 'A problem code.' }) }),
      response: { 200: ref(ProblemType), ...problemResponses([404]) },
    },
  }, async (request) => {
    const { code } = request.params
    if (!Object.hasOwn(problemTypes, code)) throw new HttpProblem('not-found', `no problem type ${code}`)
    return describe(code as ProblemCode)
  })
}
