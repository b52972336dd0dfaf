import { sql, type Selectable } from 'kysely'
import type { Static } from 'typebox'
import type { CrossCheckWarning, ReportFormName, ReportPeriod, ReportSubmission } from '../../../schemas/reports.js'
import type { Db } from '../../db/database.js'
import type { ReportPeriodsTable, ReportSubmissionsTable } from '../../db/tables.js'
import { calendarPeriods, withDeadline } from './periods.js'

export type Period = Static<typeof ReportPeriod>
type Submission = Static<typeof ReportSubmission>
type Warning = Static<typeof CrossCheckWarning>

const toPeriod = (row: Selectable<ReportPeriodsTable>): Period => withDeadline({
  id: row.id, kind: row.kind, year: row.year, title: row.title, asOf: row.as_of, dueOn: row.due_on, forms: row.forms as ReportFormName[],
})

const toSubmission = (row: Selectable<ReportSubmissionsTable>): Submission => ({
  province: row.province_code,
  periodId: row.period_id,
  form: row.form,
  version: row.version,
  submittedAt: row.submitted_at.toISOString(),
  onTime: row.on_time,
  state: row.state,
  reviewComment: row.review_comment,
  reviewedAt: row.reviewed_at?.toISOString() ?? null,
  receiptId: row.receipt_id,
  warnings: row.warnings as Warning[],
  data: row.data as Record<string, unknown>,
})

/** What the service's own records say about a province, to cross-check what it reports. */
export interface ObservedFigures {
  stations: Record<string, number>
  clusters: Record<string, number>
  boards: number
  /** IT–telecom stations in service that never reported their device status. */
  ipStationsSilent: number
  /** Airtime the broadcast logs record from the start of the period's year to its as-of date; null without an as-of date. */
  loggedAirtimeHours: number | null
}

export class ReportsStore {
  constructor(private readonly db: Db) {}

  /** The calendar periods of a year exist once asked for; inserting them again changes nothing. */
  async ensureYear(year: number, db: Db = this.db): Promise<void> {
    await db.insertInto('report_periods')
      .values(calendarPeriods(year).map((p) => ({ id: p.id, kind: p.kind, year: p.year, title: p.title, as_of: p.asOf, due_on: p.dueOn, forms: p.forms })))
      .onConflict((oc) => oc.column('id').doNothing())
      .execute()
  }

  async periods(year: number): Promise<Period[]> {
    const rows = await this.db.selectFrom('report_periods').selectAll().where('year', '=', year).orderBy('due_on').orderBy('id').execute()
    return rows.map(toPeriod)
  }

  /** A period by id; a calendar period (`2027-H1`, `2027-RADIO`, `2027-Y`) exists as soon as it is named. */
  async period(id: string, db: Db = this.db): Promise<Period | undefined> {
    const find = () => db.selectFrom('report_periods').selectAll().where('id', '=', id).executeTakeFirst()
    let row = await find()
    const calendarYear = /^(20[2-9]\d|2100)-(H1|RADIO|Y)$/.exec(id)?.[1]
    if (!row && calendarYear) {
      await this.ensureYear(Number(calendarYear), db)
      row = await find()
    }
    return row && toPeriod(row)
  }

  /** False when a period with this id exists. */
  async openPeriod(period: Omit<Period, 'deadline'>, db: Db): Promise<boolean> {
    const row = await db.insertInto('report_periods')
      .values({ id: period.id, kind: period.kind, year: period.year, title: period.title, as_of: period.asOf, due_on: period.dueOn, forms: period.forms })
      .onConflict((oc) => oc.column('id').doNothing()).returning('id').executeTakeFirst()
    return row !== undefined
  }

  /** Stores a new version; versions of one form are numbered under a lock, so concurrent submissions never collide. */
  async submit(trx: Db, submission: Omit<Submission, 'version' | 'state' | 'reviewComment' | 'reviewedAt'>): Promise<Submission> {
    await sql`select pg_advisory_xact_lock(hashtext(${`${submission.province}/${submission.periodId}/${submission.form}`}))`.execute(trx)
    const last = await trx.selectFrom('report_submissions').select((eb) => eb.fn.max('version').as('version'))
      .where('province_code', '=', submission.province).where('period_id', '=', submission.periodId).where('form', '=', submission.form)
      .executeTakeFirst()
    const row = await trx.insertInto('report_submissions').values({
      province_code: submission.province,
      period_id: submission.periodId,
      form: submission.form,
      version: (last?.version ?? 0) + 1,
      data: JSON.stringify(submission.data),
      submitted_at: submission.submittedAt,
      on_time: submission.onTime,
      receipt_id: submission.receiptId,
      warnings: JSON.stringify(submission.warnings),
    }).returningAll().executeTakeFirstOrThrow()
    return toSubmission(row)
  }

  async versions(province: string, periodId: string, form: ReportFormName, db: Db = this.db): Promise<Submission[]> {
    const rows = await db.selectFrom('report_submissions').selectAll()
      .where('province_code', '=', province).where('period_id', '=', periodId).where('form', '=', form)
      .orderBy('version', 'desc').execute()
    return rows.map(toSubmission)
  }

  /** Records central's decision on a version, if it is still the latest; undefined otherwise. */
  async review(trx: Db, key: { province: string, periodId: string, form: ReportFormName, version: number }, decision: { state: 'accepted' | 'returned', comment: string | null, reviewer: string }): Promise<Submission | undefined> {
    const row = await trx.updateTable('report_submissions')
      .set({ state: decision.state, review_comment: decision.comment, reviewed_at: sql`now()`, reviewed_by: decision.reviewer })
      .where('province_code', '=', key.province).where('period_id', '=', key.periodId).where('form', '=', key.form).where('version', '=', key.version)
      .where(sql<boolean>`version = (select max(version) from report_submissions s where s.province_code = report_submissions.province_code
               and s.period_id = report_submissions.period_id and s.form = report_submissions.form)`)
      .returningAll().executeTakeFirst()
    return row && toSubmission(row)
  }

  /** The latest version of every form of every province for a period. */
  async latest(periodId: string): Promise<Submission[]> {
    const rows = await this.db.selectFrom('report_submissions').selectAll()
      .distinctOn(['province_code', 'form'])
      .where('period_id', '=', periodId)
      .orderBy('province_code').orderBy('form').orderBy('version', 'desc')
      .execute()
    return rows.map(toSubmission)
  }

  async activeProvinces(): Promise<string[]> {
    const rows = await this.db.selectFrom('admin_units').select('code').where('level', '=', 'province').where('status', '=', 'active').orderBy('code').execute()
    return rows.map((r) => r.code)
  }

  async observed(province: string, period: Pick<Period, 'year' | 'asOf'>): Promise<ObservedFigures> {
    const [stations, clusters, boards, silent, airtime] = await Promise.all([
      this.db.selectFrom('stations').select(['kind', (eb) => eb.fn.countAll<number>().as('n')])
        .where('province_code', '=', province).where('deleted_at', 'is', null).where('status', '!=', 'decommissioned').groupBy('kind').execute(),
      this.db.selectFrom('clusters').select(['kind', (eb) => eb.fn.countAll<number>().as('n')])
        .where('province_code', '=', province).where('deleted_at', 'is', null).where('status', '!=', 'decommissioned').groupBy('kind').execute(),
      this.db.selectFrom('boards').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('province_code', '=', province).where('deleted_at', 'is', null).where('status', '!=', 'decommissioned').executeTakeFirst(),
      sql<{ n: number }>`select count(*)::int as n from stations s
        where s.province_code = ${province} and s.kind = 'ip' and s.deleted_at is null and s.status <> 'decommissioned'
          and not exists (select 1 from device_status d where d.province_code = s.province_code and d.device_type = 'station' and d.device_id = s.id collate "C")`.execute(this.db),
      period.asOf
        ? sql<{ hours: number }>`select coalesce(sum(seconds), 0)::float8 / 3600 as hours from broadcast_airtime_daily
            where province_code = ${province} and day between ${`${period.year}-01-01`}::date and ${period.asOf}::date`.execute(this.db)
        : Promise.resolve(undefined),
    ])
    return {
      stations: Object.fromEntries(stations.map((r) => [r.kind, Number(r.n)])),
      clusters: Object.fromEntries(clusters.map((r) => [r.kind, Number(r.n)])),
      boards: Number(boards?.n ?? 0),
      ipStationsSilent: silent.rows[0]!.n,
      loggedAirtimeHours: airtime ? Math.round(airtime.rows[0]!.hours * 100) / 100 : null,
    }
  }
}
