import { sql } from 'kysely'
import type { Db } from '../../db/database.js'

export interface DailyActivity { airtimeSeconds: number, contentPlays: number, reportsSubmitted: number }

/** The counts behind the trends that other modules keep per day: airtime and plays (broadcast logs) and report submissions. */
export class TrendsStore {
  constructor(private readonly db: Db) {}

  async activity(from: string, to: string, only?: string): Promise<Map<string, DailyActivity>> {
    const province = only ? sql`and province_code = ${only}` : sql``
    const { rows } = await sql<{ day: string, seconds: number, plays: number, reports: number }>`
      with airtime as (
        select day::text as day, sum(seconds)::float8 as seconds, sum(content_plays)::int as plays from broadcast_airtime_daily
        where day between ${from}::date and ${to}::date ${province} group by day
      ), reports as (
        select ((submitted_at at time zone 'UTC') + interval '7 hours')::date::text as day, count(*)::int as reports from report_submissions
        where submitted_at >= (${from}::date - interval '7 hours') at time zone 'UTC' and submitted_at < (${to}::date + interval '17 hours') at time zone 'UTC' ${province}
        group by 1
      )
      select coalesce(a.day, r.day) as day, coalesce(a.seconds, 0) as seconds, coalesce(a.plays, 0) as plays, coalesce(r.reports, 0) as reports
      from airtime a full join reports r using (day)`.execute(this.db)
    return new Map(rows.map((row) => [row.day, { airtimeSeconds: Number(row.seconds), contentPlays: row.plays, reportsSubmitted: row.reports }]))
  }
}
