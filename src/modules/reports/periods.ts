import type { Static } from 'typebox'
import type { ReportPeriod } from '../../../schemas/reports.js'

type Period = Static<typeof ReportPeriod>

const VIETNAM_OFFSET_MS = 7 * 3600 * 1000

/** Deadlines are calendar dates in Vietnam time: a report is on time until the end of its due date in UTC+7. */
export function deadlineOf(dueOn: string): Date {
  const [year, month, day] = dueOn.split('-').map(Number) as [number, number, number]
  return new Date(Date.UTC(year, month - 1, day + 1) - VIETNAM_OFFSET_MS)
}

/**
 * The yearly calendar of the grassroots-information reporting regime, as a rule for any year:
 * six-month data as of 30/5 due 15/6, full-year data as of 30/11 due 15/12 (each with the citizen
 * feedback of the period), the commune-radio appendices 02 and 03 due 15/11.
 */
export type PeriodDefinition = Pick<Period, 'id' | 'kind' | 'year' | 'title' | 'asOf' | 'dueOn' | 'forms'>

export function calendarPeriods(year: number): PeriodDefinition[] {
  return [
    { id: `${year}-H1`, kind: 'six_month', year, title: `Số liệu thông tin cơ sở 6 tháng đầu năm ${year}`, asOf: `${year}-05-30`, dueOn: `${year}-06-15`, forms: ['indicators', 'feedback'] },
    { id: `${year}-RADIO`, kind: 'radio_appendices', year, title: `Kết quả thiết lập, thay thế, mở rộng truyền thanh cấp xã ứng dụng CNTT-VT năm ${year} (Phụ lục 02, 03)`, asOf: null, dueOn: `${year}-11-15`, forms: ['appendix-02', 'appendix-03'] },
    { id: `${year}-Y`, kind: 'annual', year, title: `Số liệu thông tin cơ sở năm ${year}`, asOf: `${year}-11-30`, dueOn: `${year}-12-15`, forms: ['indicators', 'feedback'] },
  ]
}

/** The deadline a province is held to: its extension's, when central granted one, else the period's. */
export const deadlineFor = (period: Pick<Period, 'dueOn' | 'extensions'>, province: string) =>
  deadlineOf(period.extensions.find((e) => e.province === province)?.dueOn ?? period.dueOn)

/** The year a date falls in, in Vietnam time. */
export const vietnamYear = (at: Date) => new Date(at.getTime() + VIETNAM_OFFSET_MS).getUTCFullYear()


/** Why central may not grant this extension, if it may not: it must be later than the period's date, for a province of today. */
export function extensionProblem(period: Pick<Period, 'dueOn'>, province: string, dueOn: string, activeProvinces: string[]): string | undefined {
  if (dueOn <= period.dueOn) return `an extension is later than the period's due date ${period.dueOn}`
  if (!activeProvinces.includes(province)) return `${province} is not a province since 1 July 2025`
  return undefined
}
