import t from 'tap'
import { HttpProblem, problemTypes, type ProblemCode } from '../../src/http/problem.js'
import { PROBLEM_CODES, problemResponses } from '../../src/http/responses.js'
import { buildTestApp } from '../helpers/app.js'

type Operation = { operationId?: string, responses: Record<string, { description: string, content?: Record<string, Record<string, unknown>> }> }

const { app } = await buildTestApp(t, {
  beforeReady: (app) => {
    app.get('/v2/refuses-as-declared', { config: { policy: 'public', problems: { 404: [{ code: 'not-found', detail: 'the example does not exist' }] } }, schema: { operationId: 'refusesAsDeclared', response: { 200: { type: 'object' }, ...problemResponses([404]) } } }, async () => {
      throw new HttpProblem('not-found', 'the example does not exist')
    })
    app.get('/v2/refuses-undeclared', { config: { policy: 'public' }, schema: { operationId: 'refusesUndeclared' } }, async () => {
      throw new HttpProblem('conflict', 'a conflict the contract does not announce')
    })
  },
})

const contract = app.swagger() as unknown as { paths: Record<string, Record<string, Operation>> }
const operations = Object.values(contract.paths).flatMap((item) => Object.values(item))
const operation = (id: string) => operations.find((o) => o.operationId === id)!
const codesOf = (id: string, status: number) => operation(id).responses[String(status)]?.content?.['application/problem+json']?.[PROBLEM_CODES] as ProblemCode[] | undefined

t.test('every problem response of every operation lists its codes, each a known code of that status, also in its description', async (t) => {
  let responses = 0
  for (const op of operations) {
    for (const [status, response] of Object.entries(op.responses)) {
      const problem = response.content?.['application/problem+json']
      if (!problem) continue
      responses++
      const codes = problem[PROBLEM_CODES] as ProblemCode[] | undefined
      if (!codes || codes.length === 0) {
        t.fail(`${op.operationId} ${status} lists no codes`)
        continue
      }
      const wrong = codes.filter((code) => problemTypes[code]?.status !== Number(status))
      if (wrong.length > 0) t.fail(`${op.operationId} ${status} lists ${wrong.join(', ')}`)
      if (!codes.every((code) => response.description.includes(`\`${code}\``))) t.fail(`${op.operationId} ${status}: the description does not name every code`)
      const examples = Object.values(problem.examples as Record<string, { value?: { code: string }, $ref?: string }>)
      for (const example of examples) {
        const code = example.value?.code ?? example.$ref?.split('/').pop()
        if (example.value && !codes.includes(example.value.code as ProblemCode)) t.fail(`${op.operationId} ${status}: example ${code} is not among its codes`)
      }
    }
  }
  t.ok(responses > 800, `${responses} problem responses checked`)
})

t.test('the codes follow what the operation is: its caller policy, whether it writes, takes a body or a cursor, and its own rules', async (t) => {
  const tokenChecks = (Object.keys(problemTypes) as ProblemCode[]).filter((code) => problemTypes[code].status === 401)
  t.same(codesOf('registerSystem', 401), tokenChecks, 'every check of the call token')
  t.same(codesOf('registerSystem', 403), ['issuer-suspended', 'role-forbidden'], 'central\'s operation: a suspended caller, another role')
  t.same(codesOf('pushStations', 403), ['issuer-suspended', 'role-forbidden', 'scope-forbidden'], 'a province\'s operation: also another province')
  t.same(codesOf('registerSystem', 409), ['conflict', 'idempotency-key-in-flight', 'idempotency-answer-lost'], 'its own conflict and those of idempotency')
  t.same(codesOf('registerSystem', 503), ['database-unavailable', 'write-outcome-unknown', 'overloaded'], 'a write may end with its outcome unknown')
  t.same(codesOf('listStations', 503), ['database-unavailable', 'overloaded'], 'a read may not')
  t.ok(codesOf('listStations', 400)?.includes('invalid-cursor'), 'a list takes a cursor')
  t.notOk(codesOf('getStation', 400)?.includes('invalid-cursor'), 'a record read does not')
  t.ok(codesOf('pushStations', 400)?.includes('malformed-json'), 'a body may be malformed')
  t.notOk(codesOf('listStations', 400)?.includes('malformed-json'), 'a read has no body')
  t.notOk(codesOf('live', 401), 'a public operation has no 401')
  t.same(codesOf('sendMediaChunk', 409), ['idempotency-key-in-flight', 'idempotency-answer-lost', 'upload-offset-mismatch', 'upload-not-open'])
  t.same(codesOf('ready', 503), ['not-ready', 'database-unavailable', 'overloaded'])
})

t.test('a problem the contract declares for its operation is answered as usual and noted nowhere', async (t) => {
  const answer = await app.inject({ method: 'GET', url: '/v2/refuses-as-declared' })
  t.equal(answer.statusCode, 404)
  t.same([...app.undeclaredProblems], [])
})

t.test('a problem the contract does not declare for its operation is still answered, and noted', async (t) => {
  const answer = await app.inject({ method: 'GET', url: '/v2/refuses-undeclared' })
  t.equal(answer.statusCode, 409)
  t.equal(answer.json().code, 'conflict')
  t.same([...app.undeclaredProblems], ['GET /v2/refuses-undeclared 409 conflict'])
  const again = await app.inject({ method: 'GET', url: '/v2/refuses-undeclared' })
  t.equal(again.statusCode, 409)
  t.equal(app.undeclaredProblems.size, 1, 'noted once')
  // The helper fails any test whose app answered an undeclared problem; this one did so on purpose.
  app.undeclaredProblems.clear()
})

t.test('an unknown path is no operation, so nothing is noted', async (t) => {
  const answer = await app.inject({ method: 'GET', url: '/v2/no-such-operation' })
  t.equal(answer.statusCode, 404)
  t.equal(answer.json().code, 'route-not-found')
  t.same([...app.undeclaredProblems], [])
})
