import { sql, type Selectable } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import type { Static } from 'typebox'
import type { Appendix02Line, Appendix03Line, CrossCheckWarning, CustomForm, Person, ReportPeriod, ReportSubmission } from '../../../schemas/reports.js'
import type { Actor } from '../../auth/call-token.js'
import type { Db } from '../../db/database.js'
import { part, type Part } from '../../db/parts.js'
import type { ReportDeadlineExtensionsTable, ReportPeriodsTable, ReportSubmissionsTable } from '../../db/tables.js'
import { calendarPeriods, deadlineOf, type PeriodDefinition } from './periods.js'

export type Period = Static<typeof ReportPeriod>
type Submission = Static<typeof ReportSubmission>
type Warning = Static<typeof CrossCheckWarning>

/** What a summary needs of the latest version of a form. */
export interface LatestState {
  province: string
  form: string
  version: number
  state: Submission['state']
  onTime: boolean
  submittedAt: string
  /** A feedback form's pieces of feedback received and answered, summed over its communes and channels. */
  feedback: { received: number, answered: number } | null
}

/** A period's extensions come with it as JSON, their instants as text. */
type PeriodRow = Selectable<ReportPeriodsTable> & { extensions: (Omit<Selectable<ReportDeadlineExtensionsTable>, 'granted_at'> & { granted_at: string })[] }

/** Periods with their extensions, in one statement. */
const periodsWithExtensions = (db: Db) => db.selectFrom('report_periods').selectAll('report_periods').select((eb) => jsonArrayFrom(
  eb.selectFrom('report_deadline_extensions as e').selectAll('e').whereRef('e.period_id', '=', 'report_periods.id').orderBy('e.province_code'),
).as('extensions')).$castTo<PeriodRow>()

const toPeriod = (row: PeriodRow): Period => ({
  id: row.id, kind: row.kind, year: row.year, title: row.title, asOf: row.as_of, dueOn: row.due_on, deadline: deadlineOf(row.due_on).toISOString(),
  forms: row.forms, customForms: row.custom_forms as Static<typeof CustomForm>[],
  extensions: row.extensions.map((e) => ({
    province: e.province_code, dueOn: e.due_on, deadline: deadlineOf(e.due_on).toISOString(), reason: e.reason, grantedBy: e.granted_by, grantedAt: new Date(e.granted_at).toISOString(),
  })),
  correctedAt: row.corrected_at?.toISOString() ?? null,
  correctionReason: row.correction_reason,
})

const personOf = (value: unknown) => (value ?? null) as Static<typeof Person> | null
const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value))

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
  derived: (row.derived ?? null) as Record<string, unknown> | null,
  draftedBy: personOf(row.drafted_by),
  approvedBy: personOf(row.approved_by),
  reviewedBy: personOf(row.reviewed_by_person),
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
  /** Years whose calendar periods this instance has inserted outside a transaction: committed, so not inserted again. */
  private readonly yearsMade = new Set<number>()

  constructor(readonly db: Db) {}

  /** The calendar periods of a year exist once asked for; inserting them again changes nothing. */
  async ensureYear(year: number, db: Db = this.db): Promise<void> {
    if (this.yearsMade.has(year)) return
    await db.insertInto('report_periods')
      .values(calendarPeriods(year).map((p) => ({ id: p.id, kind: p.kind, year: p.year, title: p.title, as_of: p.asOf, due_on: p.dueOn, forms: p.forms })))
      .onConflict((oc) => oc.column('id').doNothing())
      .execute()
    if (db === this.db) this.yearsMade.add(year)
  }

  async periods(year: number): Promise<Period[]> {
    const rows = await periodsWithExtensions(this.db).where('year', '=', year).orderBy('due_on').orderBy('id').execute()
    return rows.map(toPeriod)
  }

  /** A period by id; a calendar period (`2027-H1`, `2027-RADIO`, `2027-Y`) exists as soon as it is named. */
  async period(id: string, db: Db = this.db): Promise<Period | undefined> {
    const find = () => periodsWithExtensions(db).where('id', '=', id).executeTakeFirst()
    let row = await find()
    const calendarYear = /^(20[2-9]\d|2100)-(H1|RADIO|Y)$/.exec(id)?.[1]
    if (!row && calendarYear) {
      await this.ensureYear(Number(calendarYear), db)
      row = await find()
    }
    return row && toPeriod(row)
  }

  /** False when a period with this id exists. */
  async openPeriod(period: PeriodDefinition & { customForms: Static<typeof CustomForm>[] }, db: Db): Promise<boolean> {
    const row = await db.insertInto('report_periods')
      .values({ id: period.id, kind: period.kind, year: period.year, title: period.title, as_of: period.asOf, due_on: period.dueOn, forms: period.forms, custom_forms: JSON.stringify(period.customForms) })
      .onConflict((oc) => oc.column('id').doNothing()).returning('id').executeTakeFirst()
    return row !== undefined
  }

  /** Corrects a period; every submission already made is judged again against the deadline it now has. */
  async correctPeriod(trx: Db, id: string, correction: { title?: string | undefined, asOf?: string | null | undefined, dueOn?: string | undefined, reason: string }): Promise<void> {
    await trx.updateTable('report_periods').set({
      ...(correction.title !== undefined ? { title: correction.title } : {}),
      ...(correction.asOf !== undefined ? { as_of: correction.asOf } : {}),
      ...(correction.dueOn !== undefined ? { due_on: correction.dueOn } : {}),
      corrected_at: sql`now()`, correction_reason: correction.reason,
    }).where('id', '=', id).execute()
    await this.judgeAgain(trx, id)
  }

  /** Gives one province a later deadline for a period (replacing an earlier extension); its submissions are judged again. */
  async extendDeadline(trx: Db, extension: { periodId: string, province: string, dueOn: string, reason: string, grantedBy: string }): Promise<void> {
    await trx.insertInto('report_deadline_extensions').values({
      period_id: extension.periodId, province_code: extension.province, due_on: extension.dueOn, reason: extension.reason, granted_by: extension.grantedBy,
    }).onConflict((oc) => oc.columns(['period_id', 'province_code']).doUpdateSet({
      due_on: extension.dueOn, reason: extension.reason, granted_by: extension.grantedBy, granted_at: sql`now()`,
    })).execute()
    await this.judgeAgain(trx, extension.periodId, extension.province)
  }

  /** Sets on_time again for a period's submissions (one province's, or all): received before the end of the due date that applies, Vietnam time. */
  private async judgeAgain(trx: Db, periodId: string, province?: string): Promise<void> {
    await sql`update report_submissions s set on_time = s.submitted_at < ((coalesce(
        (select e.due_on from report_deadline_extensions e where e.period_id = s.period_id and e.province_code = s.province_code),
        (select p.due_on from report_periods p where p.id = s.period_id)) + 1)::text || ' 00:00:00+07')::timestamptz
      where s.period_id = ${periodId} and (${province ?? null}::text is null or s.province_code = ${province ?? null}::text)`.execute(trx)
  }


  /** Stores a new version; versions of one form are numbered under a lock, so concurrent submissions never collide. */
  async submit(trx: Db, submission: Omit<Submission, 'version' | 'state' | 'reviewComment' | 'reviewedAt' | 'draftedBy' | 'approvedBy' | 'reviewedBy'>, actor: Actor | null): Promise<Submission> {
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
      derived: json(submission.derived),
      drafted_by: json(actor?.draftedBy),
      approved_by: json(actor && { id: actor.id, name: actor.name }),
    }).returningAll().executeTakeFirstOrThrow()
    return toSubmission(row)
  }

  async versions(province: string, periodId: string, form: string, db: Db = this.db): Promise<Submission[]> {
    const rows = await db.selectFrom('report_submissions').selectAll()
      .where('province_code', '=', province).where('period_id', '=', periodId).where('form', '=', form)
      .orderBy('version', 'desc').execute()
    return rows.map(toSubmission)
  }

  /** Records central's decision on a version, if it is still the latest; undefined otherwise. */
  async review(trx: Db, key: { province: string, periodId: string, form: string, version: number }, decision: { state: 'accepted' | 'returned', comment: string | null, reviewer: string, person: Actor | null }): Promise<Submission | undefined> {
    const row = await trx.updateTable('report_submissions')
      .set({ state: decision.state, review_comment: decision.comment, reviewed_at: sql`now()`, reviewed_by: decision.reviewer, reviewed_by_person: json(decision.person && { id: decision.person.id, name: decision.person.name }) })
      .where('province_code', '=', key.province).where('period_id', '=', key.periodId).where('form', '=', key.form).where('version', '=', key.version)
      .where(sql<boolean>`version = (select max(version) from report_submissions s where s.province_code = report_submissions.province_code
               and s.period_id = report_submissions.period_id and s.form = report_submissions.form)`)
      .returningAll().executeTakeFirst()
    return row && toSubmission(row)
  }

  /**
   * The latest version of every form of every province (or of one) for a period, without its
   * data: a summary needs only its state, and a feedback form's totals, summed here.
   */
  latestStates(periodId: string, only?: string): Part<LatestState[]> {
    return part(sql`
      select province_code, form, version, state, on_time, submitted_at, f.received, f.answered
      from (
        select distinct on (province_code, form) province_code, form, version, state, on_time, submitted_at, data from report_submissions
        where period_id = ${periodId} ${only ? sql`and province_code = ${only}` : sql``}
        order by province_code, form, version desc
      ) l
      left join lateral (
        select sum((c ->> 'received')::bigint)::text as received, sum((c ->> 'answered')::bigint)::text as answered
        from jsonb_path_query(l.data, '$.communes[*].byChannel[*]') c
      ) f on l.form = 'feedback'`, (rows) => rows.map((row) => ({
      province: row.province_code, form: row.form, version: row.version, state: row.state, onTime: row.on_time, submittedAt: new Date(row.submitted_at).toISOString(),
      feedback: row.form === 'feedback' ? { received: Number(row.received ?? 0), answered: Number(row.answered ?? 0) } : null,
    })))
  }

  /**
   * Phụ lục 02 as the registry fills it: a line per station in service (with its clusters in
   * place by kind, the clusters its replacements replaced, the villages its extensions cover),
   * and a line for each commune of the province without a station.
   */
  async appendix02Lines(province: string): Promise<Static<typeof Appendix02Line>[]> {
    const { rows } = await sql<{ id: string | null, commune_code: string, kind: string | null, status: string | null, programme: string | null, funding_source: string | null, ip: number, fm: number, wired: number, replaced: number, villages: number }>`
      with in_place as (
        select * from stations where province_code = ${province} and deleted_at is null and status <> 'decommissioned'
      ), clusters_in_place as (
        select * from clusters where province_code = ${province} and deleted_at is null and status <> 'decommissioned'
      )
      select s.id, s.commune_code, s.kind, s.status, s.programme, s.funding_source,
        (select count(*) from clusters_in_place c where c.station_id = s.id and c.kind = 'ip')::int as ip,
        (select count(*) from clusters_in_place c where c.station_id = s.id and c.kind = 'fm')::int as fm,
        (select count(*) from clusters_in_place c where c.station_id = s.id and c.kind = 'wired')::int as wired,
        (select coalesce(sum(cardinality(c.replaces)), 0) from clusters_in_place c where c.station_id = s.id and c.programme = 'replacement')::int as replaced,
        (select count(distinct v) from clusters_in_place c, unnest(case when cardinality(c.villages_covered) > 0 then c.villages_covered else array[c.village] end) as v
          where c.station_id = s.id and c.programme = 'extension' and v is not null)::int as villages
      from in_place s
      union all
      select null, u.code, null, null, null, null, 0, 0, 0, 0, 0 from admin_units u
      where u.level = 'commune' and u.status = 'active' and u.province_code = ${province} and not exists (select 1 from in_place s where s.commune_code = u.code)
      order by 2, 1 nulls first`.execute(this.db)
    return rows.map((r) => ({
      communeCode: r.commune_code, stationId: r.id, stationKind: r.kind as never, programme: r.programme as never, fundingSource: r.funding_source as never,
      clusters: { ip: r.ip, fm: r.fm, wired: r.wired }, clustersReplaced: r.replaced, villagesCovered: r.villages, status: r.status as never,
    }))
  }

  /** Phụ lục 03 as the registry fills it: per commune and funding source, the stations set up, clusters replaced and added; the money is left to the province. */
  async appendix03Lines(province: string): Promise<Static<typeof Appendix03Line>[]> {
    const { rows } = await sql<{ commune_code: string, funding_source: string, new_stations: number, replaced: number, added: number }>`
      with stations_in_place as (
        select * from stations where province_code = ${province} and deleted_at is null and status <> 'decommissioned'
      ), funded as (
        select commune_code, funding_source, 1 as new_stations, 0 as replaced, 0 as added from stations_in_place where programme = 'new_station' and funding_source is not null
        union all
        select s.commune_code, c.funding_source, 0, case when c.programme = 'replacement' then cardinality(c.replaces) else 0 end, case when c.programme = 'extension' then 1 else 0 end
        from clusters c join stations_in_place s on s.id = c.station_id
        where c.province_code = ${province} and c.deleted_at is null and c.status <> 'decommissioned' and c.funding_source is not null and c.programme in ('replacement', 'extension')
      )
      select commune_code, funding_source, sum(new_stations)::int as new_stations, sum(replaced)::int as replaced, sum(added)::int as added
      from funded group by commune_code, funding_source order by commune_code, funding_source`.execute(this.db)
    return rows.map((r) => ({ communeCode: r.commune_code, fundingSource: r.funding_source as never, newStations: r.new_stations, clustersReplaced: r.replaced, clustersAdded: r.added, amountMillionVnd: 0 }))
  }

  /** The active commune-level units of a province. */
  async communesOf(province: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom('admin_units').select('code').where('level', '=', 'commune').where('province_code', '=', province).where('status', '=', 'active').execute()
    return new Set(rows.map((r) => r.code))
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
