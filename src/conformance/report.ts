import { writeFileSync } from 'node:fs'
import junit from 'junit-report-builder'
import type { Builder, TestSuite } from 'junit-report-builder'

// The package is CommonJS with a default export: loaders disagree on whether `default` is unwrapped.
const junitBuilder = ((junit as { default?: Builder }).default ?? junit) as Builder

export interface Detail {
  request?: string
  status?: number
  seed?: number
  /** The start of the answer: status, headers and body. */
  response?: string
}

/** What a report says the run was: where, against which contract, reproducible how. */
export interface RunDescription {
  title: string
  target: string
  contract: string
  contractVersion: string
  seed: number
  startedAt: Date
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export interface CheckOutcome {
  check: string
  operation: string
  requests: number
  failures: { reason: string, detail: Detail }[]
  skipped?: string
}

/** Outcomes of one conformance run, grouped by check and operation, with the requests each took. */
export class CheckLog {
  private readonly outcomes = new Map<string, CheckOutcome>()
  private readonly started = Date.now()
  /** How the target answered the valid requests, to see how deep they reached. */
  readonly validStatuses = new Map<number, number>()
  /** Operations that got at least one success answer whose body matched its schema. */
  private readonly reachedOperations = new Set<string>()
  /** With `--cleanup`: how many of the things the run made it undid. */
  cleanedUp: { undone: number, of: number } | undefined

  private outcome(check: string, operation: string): CheckOutcome {
    const key = `${check}\u0000${operation}`
    let outcome = this.outcomes.get(key)
    if (!outcome) {
      outcome = { check, operation, requests: 0, failures: [] }
      this.outcomes.set(key, outcome)
    }
    return outcome
  }

  /** One request of a check: `failure` says why it failed, undefined when it passed. */
  record(check: string, operation: string, failure: string | undefined, detail: Detail = {}): void {
    const outcome = this.outcome(check, operation)
    outcome.requests++
    if ((check.startsWith('valid-request') || check === 'success') && detail.status) this.validStatuses.set(detail.status, (this.validStatuses.get(detail.status) ?? 0) + 1)
    if (failure) outcome.failures.push({ reason: failure, detail })
  }

  reach(operation: string): void {
    this.reachedOperations.add(operation)
  }

  reached(operation: string): boolean {
    return this.reachedOperations.has(operation)
  }

  skip(check: string, operation: string, why: string): void {
    this.outcome(check, operation).skipped = why
  }

  all(): CheckOutcome[] {
    return [...this.outcomes.values()]
  }

  failed(): CheckOutcome[] {
    return this.all().filter((o) => o.failures.length > 0)
  }

  get requests(): number {
    return this.all().reduce((sum, o) => sum + o.requests, 0)
  }

  get passed(): boolean {
    return this.failed().length === 0
  }

  /** The summary for a reader: every failure with its operation, request and reason, then the counts per check. */
  summary(title: string): string {
    const lines = [title, '']
    const checks = new Map<string, { passed: number, failed: number, skipped: number }>()
    for (const outcome of this.all()) {
      const counts = checks.get(outcome.check) ?? { passed: 0, failed: 0, skipped: 0 }
      if (outcome.skipped) counts.skipped++
      else if (outcome.failures.length > 0) counts.failed++
      else counts.passed++
      checks.set(outcome.check, counts)
    }
    for (const outcome of this.failed()) {
      const [first] = outcome.failures
      const { request, status, seed } = first!.detail
      lines.push(`FAIL ${outcome.check} ${outcome.operation}: ${first!.reason}`)
      lines.push(`     ${request ?? ''}${status ? ` -> ${status}` : ''}${seed !== undefined ? ` (seed ${seed})` : ''}` +
        `${outcome.failures.length > 1 ? `; ${outcome.failures.length} of ${outcome.requests} requests failed` : ''}`)
    }
    if (this.failed().length > 0) lines.push('')
    for (const [check, counts] of [...checks].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`${counts.failed > 0 ? 'FAIL' : 'pass'} ${check}: ${counts.passed} operations passed` +
        `${counts.failed ? `, ${counts.failed} failed` : ''}${counts.skipped ? `, ${counts.skipped} skipped` : ''}`)
    }
    const statuses = [...this.validStatuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ')
    if (statuses) lines.push('', `answers to valid requests: ${statuses}`)
    if (this.cleanedUp) lines.push(`clean-up: ${this.cleanedUp.undone} of ${this.cleanedUp.of} writes undone (deleted, withdrawn, suspended or cancelled)`)
    const failedChecks = this.failed().length
    lines.push('', `${this.all().length - failedChecks} passed, ${failedChecks} failed; ${this.requests} requests in ${((Date.now() - this.started) / 1000).toFixed(1)} s`)
    return lines.join('\n') + '\n'
  }

  /** JUnit XML: one test suite per check, one test case per operation. */
  writeJunit(file: string, name: string): void {
    const report = junitBuilder.newBuilder()
    const suites = new Map<string, TestSuite>()
    for (const outcome of this.all()) {
      let suite = suites.get(outcome.check)
      if (!suite) {
        suite = report.testSuite().name(`${name}: ${outcome.check}`)
        suites.set(outcome.check, suite)
      }
      const test = suite.testCase().className(outcome.check).name(outcome.operation)
      if (outcome.skipped) test.skipped().standardOutput(outcome.skipped)
      else if (outcome.failures.length > 0) {
        const [first] = outcome.failures
        test.failure(first!.reason).standardOutput(outcome.failures
          .map((f) => `${f.detail.request ?? ''} -> ${f.detail.status ?? 'no answer'} (seed ${f.detail.seed ?? '-'}): ${f.reason}`).join('\n'))
      } else test.standardOutput(`${outcome.requests} requests`)
    }
    report.writeTo(file)
  }

  /**
   * A page an integrator can hand to central as evidence: the run, the counts, and per
   * operation every check with its verdict; a failure shows its requests and what the target answered.
   */
  writeHtml(file: string, run: RunDescription): void {
    const byOperation = new Map<string, CheckOutcome[]>()
    for (const outcome of this.all()) byOperation.set(outcome.operation, [...byOperation.get(outcome.operation) ?? [], outcome])
    const failed = this.failed().length
    const verdict = (o: CheckOutcome) => (o.skipped ? 'skipped' : o.failures.length > 0 ? 'fail' : 'pass')
    const sections = [...byOperation].sort(([a], [b]) => a.localeCompare(b)).map(([operation, outcomes]) => {
      const rows = outcomes.sort((a, b) => a.check.localeCompare(b.check)).map((o) => {
        const failures = o.failures.slice(0, 3).map((f) => `<div class="failure"><p>${escapeHtml(f.reason)}</p>` +
          `<pre>${escapeHtml(`${f.detail.request ?? ''}${f.detail.seed !== undefined ? `  (seed ${f.detail.seed})` : ''}`)}</pre>` +
          `${f.detail.response ? `<pre>${escapeHtml(f.detail.response)}</pre>` : ''}</div>`).join('')
        return `<tr class="${verdict(o)}"><td>${escapeHtml(o.check)}</td><td>${verdict(o)}</td><td>${o.requests}</td><td>${escapeHtml(o.skipped ?? '')}${failures}</td></tr>`
      }).join('\n')
      const bad = outcomes.some((o) => o.failures.length > 0)
      return `<details${bad ? ' open' : ''}><summary class="${bad ? 'fail' : 'pass'}">${escapeHtml(operation)}: ${bad ? 'FAIL' : 'pass'}</summary>` +
        `<table><tr><th>check</th><th>verdict</th><th>requests</th><th>detail</th></tr>\n${rows}</table></details>`
    })
    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(run.title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top;text-align:left}
.fail{color:#a00}.pass{color:#060}.skipped{color:#777}pre{white-space:pre-wrap;background:#f6f6f6;padding:.4em;max-width:60em}summary{cursor:pointer;font-weight:600}</style></head>
<body><h1>${escapeHtml(run.title)}</h1>
<table><tr><th>target</th><td>${escapeHtml(run.target)}</td></tr><tr><th>contract</th><td>${escapeHtml(run.contract)} (version ${escapeHtml(run.contractVersion)})</td></tr>
<tr><th>seed</th><td>${run.seed} (repeat with <code>--seed ${run.seed}</code>)</td></tr><tr><th>started</th><td>${run.startedAt.toISOString()}</td></tr>
<tr><th>result</th><td class="${failed > 0 ? 'fail' : 'pass'}">${this.all().length - failed} checks passed, ${failed} failed; ${this.requests} requests</td></tr></table>
${sections.join('\n')}
</body></html>
`
    writeFileSync(file, html)
  }
}
