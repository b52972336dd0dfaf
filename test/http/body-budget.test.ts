import fc from 'fast-check'
import t from 'tap'
import { BodyBudget } from '../../src/http/body-budget.js'
import { HttpProblem } from '../../src/http/problem.js'

const RATE = 1000
const BURST = 10_000
const LARGEST = 40_000

function budgetAt(clock: { now: number }) {
  return new BodyBudget(RATE, BURST, LARGEST, () => clock.now)
}

/** The Retry-After a refusal tells, in seconds; undefined when the body was let in. */
function tryTake(budget: BodyBudget, caller: string, bytes: number): number | undefined {
  try {
    budget.take(caller, bytes)
    return undefined
  } catch (error) {
    if (!(error instanceof HttpProblem) || error.code !== 'body-rate-exceeded') throw error
    return Number(error.headers['retry-after'])
  }
}

t.test('a body counts for its Content-Length; one of unknown length for the largest accepted; none for nothing', async (t) => {
  const budget = budgetAt({ now: 0 })
  t.equal(budget.cost({ 'content-length': '1234' }), 1234)
  t.equal(budget.cost({ 'transfer-encoding': 'chunked' }), LARGEST)
  t.equal(budget.cost({}), 0)
  t.equal(budget.cost({ 'content-length': String(LARGEST) }), LARGEST)
  t.equal(budget.cost({ 'content-length': String(LARGEST + 1) }), 0, 'a body beyond the limit is refused with 413 unread: it costs nothing')
  t.equal(budget.cost({ 'content-length': 'x' }), 0, 'nor does a length that is no number, refused as a bad request')
})

t.test('a burst is let in whole, the next body waits for the refill, and Retry-After is the wait', async (t) => {
  const clock = { now: 0 }
  const budget = budgetAt(clock)
  t.equal(tryTake(budget, 'province-79', 6000), undefined)
  t.equal(tryTake(budget, 'province-79', 4000), undefined)
  t.equal(tryTake(budget, 'province-79', 1), 1, 'spent: retry in a second (the least Retry-After says)')
  t.equal(tryTake(budget, 'province-79', 3500), 4, '3,500 bytes at 1,000 a second: 4 s')
  t.equal(tryTake(budget, 'province-01', 10_000), undefined, 'another caller has its own budget')
  clock.now += 3500
  t.equal(tryTake(budget, 'province-79', 3500), undefined, 'let in once the wait is over')
})

t.test('a body larger than the burst is let in on a full bucket and leaves the caller in debt', async (t) => {
  const clock = { now: 0 }
  const budget = budgetAt(clock)
  t.equal(tryTake(budget, 'province-79', 30_000), undefined)
  t.equal(tryTake(budget, 'province-79', 100), 21, 'the debt of 20,000 bytes is paid back first, then the 100, at 1,000 a second')
  t.equal(tryTake(budget, 'province-79', 0), undefined, 'a call without a body is let in meanwhile: it costs no body work')
  t.equal(tryTake(budget, 'province-79', 100), 21, 'and takes nothing from the debt')
  clock.now += 29_999
  t.equal(tryTake(budget, 'province-79', 30_000), 1, 'a large body needs the bucket full again')
  clock.now += 1
  t.equal(tryTake(budget, 'province-79', 30_000), undefined)
})

t.test('a refund gives back what a refused request took, never more than the burst', async (t) => {
  const clock = { now: 0 }
  const budget = budgetAt(clock)
  budget.take('province-79', 8000)
  budget.refund('province-79', 8000)
  t.equal(tryTake(budget, 'province-79', 10_000), undefined)
  budget.refund('province-79', 50_000)
  t.equal(tryTake(budget, 'province-79', 10_000), undefined)
  t.equal(tryTake(budget, 'province-79', 1), 1, 'the refund filled the bucket to the burst and no further')
})

t.test('the check before the signature refuses only a caller short of its own budget and takes nothing', async (t) => {
  const clock = { now: 0 }
  const budget = budgetAt(clock)
  for (let i = 0; i < 100; i++) budget.refuseIfShort('province-01', 10_000)
  t.equal(tryTake(budget, 'province-01', 10_000), undefined, 'claims in another system\'s name spent none of its budget')
  t.throws(() => budget.refuseIfShort('province-01', 1), { code: 'body-rate-exceeded' })
  t.doesNotThrow(() => budget.refuseIfShort('province-01', 0), 'a call without a body is never refused for bytes')
  t.doesNotThrow(() => budget.refuseIfShort(undefined, 10_000))
})

t.test('over any sequence of bodies and pauses: at most the burst plus the refill is let in (plus one large body\'s debt), and a caller that waits as told is let in', async (t) => {
  const step = fc.record({ pauseMs: fc.integer({ min: 0, max: 20_000 }), bytes: fc.integer({ min: 0, max: LARGEST }), obeys: fc.boolean() })
  fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 200 }), (steps) => {
    const clock = { now: 0 }
    const budget = budgetAt(clock)
    let admitted = 0
    for (const { pauseMs, bytes, obeys } of steps) {
      clock.now += pauseMs
      const retryAfter = tryTake(budget, 'province-79', bytes)
      if (retryAfter === undefined) {
        admitted += bytes
      } else if (obeys) {
        if (retryAfter < 1) return false
        clock.now += retryAfter * 1000
        if (tryTake(budget, 'province-79', bytes) !== undefined) return false
        admitted += bytes
      }
      if (admitted > BURST + RATE * clock.now / 1000 + (LARGEST - BURST)) return false
    }
    return true
  }), { numRuns: 500 })
  t.pass('held for 500 random sequences')
})
