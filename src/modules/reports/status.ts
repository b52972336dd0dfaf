import { runPart } from '../../db/parts.js'
import { deadlineOf, vietnamYear } from './periods.js'
import type { LatestState, Period, ReportsStore } from './store.js'

/** Each province's state for each form of a period, from the latest versions: missing, submitted, late, accepted or returned. */
export function formStates(latest: LatestState[], period: { forms: string[] }, provinces: string[]) {
  return provinces.map((province) => ({
    province,
    forms: period.forms.map((form) => {
      const submission = latest.find((s) => s.province === province && s.form === form)
      const status = !submission ? 'missing' as const
        : submission.state === 'submitted' ? (submission.onTime ? 'submitted' as const : 'late' as const)
          : submission.state
      return { form, status, version: submission?.version ?? null, submittedAt: submission?.submittedAt ?? null }
    }),
  }))
}

/** Each active province's state for each form of a period. */
export async function reportStatus(store: ReportsStore, period: { id: string, forms: string[] }) {
  const [latest, provinces] = await Promise.all([runPart(store.db, store.latestStates(period.id)), store.activeProvinces()])
  return formStates(latest, period, provinces)
}

/** The period a summary speaks of: the first of this year whose deadline has not passed, else the year's last. */
export async function currentPeriod(store: ReportsStore, now: Date): Promise<Period | undefined> {
  const year = vietnamYear(now)
  await store.ensureYear(year)
  const periods = await store.periods(year)
  return periods.find((p) => deadlineOf(p.dueOn) >= now) ?? periods.at(-1)
}
