import fc from 'fast-check'
import { sql } from 'kysely'
import t from 'tap'
import type { DeviceState, DeviceType, StatusEvent } from '../../schemas/status.js'
import { windowOf } from '../../src/modules/availability/figures.js'
import { AvailabilityStore } from '../../src/modules/availability/store.js'
import type { Db } from '../../src/db/database.js'
import { runPart } from '../../src/db/parts.js'
import { MonthlyPartitions } from '../../src/modules/status/partitions.js'
import { dayDate, vietnamDay, vietnamDayStart } from '../../src/modules/status/periods.js'
import { StatusStore } from '../../src/modules/status/store.js'
import { SummariesStore } from '../../src/modules/summaries/store.js'
import { serverUrl, testDatabase } from '../helpers/database.js'

/**
 * The counts the summaries read are kept by the database as rows change. After random
 * registry changes (through any statement: upserts, soft and hard deletes, decommissioning),
 * status reports through the store (repeated, late, at the same instant, across the stale
 * limit) and an insider's direct edits of current states, every maintained count equals the
 * count of the rows, and the summary's device figures equal those counted from the rows, for
 * clocks that put the stale limit exactly on a report's second and either side of it. The
 * programmes' counts likewise, after random changes of clusters' programmes and what they name.
 */

const STALE_SECONDS = 600
const BASE = Date.UTC(2026, 10, 20, 3, 0)
const TYPES: DeviceType[] = ['station', 'cluster', 'board']
const STATES: DeviceState[] = ['online', 'online', 'playing', 'idle', 'offline', 'fault']
const STATUSES = ['operating', 'operating', 'degraded', 'out_of_service', 'decommissioned'] as const
const id = (n: number) => `d${n}`
const firstCommune = async (db: Db) => (await sql<{ code: string }>`select code from admin_units where level = 'commune' limit 1`.execute(db)).rows[0]!.code
/** An operating IT–telecom station, inserted directly as an insider or a loader would. */
const insertStation = (db: Db, province: string, stationId: string, commune: string) => sql`
  insert into stations (province_code, id, commune_code, commune_verified, name, kind, status, has_integration_device, content_hash)
  values (${province}, ${stationId}, ${commune}, true, ${stationId}, 'ip', 'operating', false, 'h')`.execute(db)
const KINDS = { station: ['ip', 'wired', 'fm', 'wired_fm'], cluster: ['ip', 'fm', 'wired'], board: [''] } as const

const device = fc.record({ type: fc.constantFrom(...TYPES), province: fc.nat(2), id: fc.nat(4) })
const operation = fc.oneof(
  fc.record({ op: fc.constant('register' as const), device, status: fc.constantFrom(...STATUSES), kind: fc.nat(3), programme: fc.boolean() }),
  fc.record({ op: fc.constantFrom('retire' as const, 'decommission' as const, 'erase' as const), device }),
  fc.record({
    op: fc.constant('report' as const), province: fc.nat(2),
    events: fc.array(fc.record({ type: fc.constantFrom(...TYPES), id: fc.nat(4), state: fc.constantFrom(...STATES), atMs: fc.integer({ min: 0, max: 3_600_000 }) }), { minLength: 1, maxLength: 12 }),
  }),
  fc.record({ op: fc.constant('edit' as const), device, shiftSeconds: fc.integer({ min: -7200, max: 7200 }), state: fc.constantFrom(...STATES) }),
  fc.record({ op: fc.constant('forget' as const), device }),
  fc.record({ op: fc.constant('fold' as const) }),
)

t.test('maintained counts equal the counts of the rows, and the summary\'s device figures those counted from the rows', async (t) => {
  const { db } = await testDatabase(t)
  const status = new StatusStore(db)
  const summaries = new SummariesStore(db)
  const availability = new AvailabilityStore(db)
  await MonthlyPartitions.history(db).ensure(['202611', '202612'])
  await MonthlyPartitions.days(db).ensure(['202611', '202612'])
  const provinces = (await sql<{ code: string }>`select code from admin_units where level = 'province' and status = 'active' order by code limit 3`.execute(db)).rows.map((r) => r.code)
  const commune = await firstCommune(db)
  for (const province of provinces) await register(province, 'station', 'base', 'operating', 'ip', false)

  async function register(province: string, type: DeviceType, id: string, status: string, kind: string, programme: boolean) {
    if (type === 'station') {
      await sql`insert into stations (province_code, id, commune_code, commune_verified, name, kind, status, has_integration_device, programme, content_hash)
        values (${province}, ${id}, ${commune}, true, ${`Đài ${id}`}, ${kind}, ${status}, false, ${programme ? 'new_station' : null}, 'h')
        on conflict (province_code, id) do update set kind = excluded.kind, status = excluded.status, programme = excluded.programme, deleted_at = null`.execute(db)
    } else if (type === 'cluster') {
      await sql`insert into clusters (province_code, id, station_id, kind, status, content_hash) values (${province}, ${id}, 'base', ${kind}, ${status}, 'h')
        on conflict (province_code, id) do update set kind = excluded.kind, status = excluded.status, deleted_at = null`.execute(db)
    } else {
      await sql`insert into boards (province_code, id, commune_code, commune_verified, placement, status, content_hash)
        values (${province}, ${id}, ${commune}, true, 'outdoor', ${status}, 'h')
        on conflict (province_code, id) do update set status = excluded.status, deleted_at = null`.execute(db)
    }
  }
  const table = (type: DeviceType) => sql.table(`${type}s`)

  let clock = BASE
  await fc.assert(fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 25 }), async (operations) => {
    for (const o of operations) {
      if (o.op === 'register') {
        const kinds = KINDS[o.device.type]
        await register(provinces[o.device.province]!, o.device.type, id(o.device.id), o.status, kinds[o.kind % kinds.length]!, o.programme)
      } else if (o.op === 'retire') {
        await sql`update ${table(o.device.type)} set deleted_at = now() where province_code = ${provinces[o.device.province]!} and id = ${id(o.device.id)}`.execute(db)
      } else if (o.op === 'decommission') {
        await sql`update ${table(o.device.type)} set status = 'decommissioned' where province_code = ${provinces[o.device.province]!} and id = ${id(o.device.id)}`.execute(db)
      } else if (o.op === 'erase') {
        if (o.device.type !== 'station') await sql`delete from ${table(o.device.type)} where province_code = ${provinces[o.device.province]!} and id = ${id(o.device.id)}`.execute(db)
      } else if (o.op === 'report') {
        clock += 1_800_000
        const events: StatusEvent[] = o.events.map((e) => ({ deviceType: e.type, deviceId: id(e.id), state: e.state, observedAt: new Date(clock - e.atMs).toISOString() }))
        await db.transaction().execute((trx) => status.write(trx, provinces[o.province]!, events, new Date(clock), STALE_SECONDS * 1000, () => undefined))
      } else if (o.op === 'edit') {
        await sql`update device_status set observed_at = observed_at + make_interval(secs => ${o.shiftSeconds}), state = ${o.state}
          where province_code = ${provinces[o.device.province]!} and device_type = ${o.device.type} and device_id = ${id(o.device.id)}`.execute(db)
      } else if (o.op === 'fold') {
        await summaries.compactRegistryCounts()
      } else {
        await sql`delete from device_status where province_code = ${provinces[o.device.province]!} and device_type = ${o.device.type} and device_id = ${id(o.device.id)}`.execute(db)
      }
    }

    const registryCounted = (await sql`
      select province_code, device_type, kind, status, programme, sum(devices)::int as devices from registry_counts
      group by 1, 2, 3, 4, 5 having sum(devices) <> 0 order by 1, 2, 3, 4, 5`.execute(db)).rows
    const registryRows = (await sql`
      select * from (
        select province_code, 'station' as device_type, kind, status, coalesce(programme, '') as programme, count(*)::int as devices from stations where deleted_at is null group by 1, 2, 3, 4, 5
        union all select province_code, 'cluster', kind, status, '', count(*)::int from clusters where deleted_at is null group by 1, 2, 3, 4, 5
        union all select province_code, 'board', '', status, '', count(*)::int from boards where deleted_at is null group by 1, 2, 3, 4, 5
      ) r order by province_code collate "C", device_type collate "C", kind collate "C", status collate "C", programme collate "C"`.execute(db)).rows
    t.same(registryCounted, registryRows, 'registry counts')

    const secondsCounted = (await sql`
      select province_code, in_place, state, seen_second::text, devices, started_ms::text, seen_ms::text from device_state_seconds
      where devices <> 0 or started_ms <> 0 or seen_ms <> 0 order by 1, 2, 3, 4`.execute(db)).rows
    const secondsRows = (await sql`
      select s.province_code, not exists (
          select 1 from ${table('station')} x where s.device_type = 'station' and x.province_code = s.province_code and x.id = s.device_id and (x.deleted_at is not null or x.status = 'decommissioned')
          union all select 1 from ${table('cluster')} x where s.device_type = 'cluster' and x.province_code = s.province_code and x.id = s.device_id and (x.deleted_at is not null or x.status = 'decommissioned')
          union all select 1 from ${table('board')} x where s.device_type = 'board' and x.province_code = s.province_code and x.id = s.device_id and (x.deleted_at is not null or x.status = 'decommissioned')
        ) as in_place,
        s.state, second::text as seen_second, count(*)::int as devices,
        sum(round(date_part('epoch', s.run_started_at) * 1000))::bigint::text as started_ms, sum(round(date_part('epoch', s.observed_at) * 1000))::bigint::text as seen_ms
      from device_status s, cast(floor(extract(epoch from s.observed_at)) as bigint) as second
      group by 1, 2, 3, 4 order by s.province_code collate "C", 2, s.state collate "C", 4`.execute(db)).rows
    t.same((await sql`select count(*)::int as n from device_state_seconds where devices = 0`.execute(db)).rows, [{ n: 0 }], 'no empty bucket kept')
    t.same(secondsCounted, secondsRows, 'devices by place, state and second of their newest report, with the sums of their starts and reports')
    const totalled = (await sql`
      select province_code, in_place, state, devices, started_ms::text, seen_ms::text from device_state_totals
      where devices <> 0 or started_ms <> 0 or seen_ms <> 0 order by 1, 2, 3`.execute(db)).rows
    const bucketSums = (await sql`
      select province_code, in_place, state, sum(devices)::int as devices, sum(started_ms)::bigint::text as started_ms, sum(seen_ms)::bigint::text as seen_ms
      from device_state_seconds group by 1, 2, 3 having sum(devices) <> 0 or sum(started_ms) <> 0 or sum(seen_ms) <> 0 order by 1, 2, 3`.execute(db)).rows
    t.same(totalled, bucketSums, 'the totals of each province, place and state are the sums of its buckets')

    // Clocks whose stale limit falls on a stored report's second, one second either side, and mid-second.
    const seconds = (await sql<{ s: string }>`select distinct floor(extract(epoch from observed_at))::bigint::text as s from device_status`.execute(db)).rows.map((r) => Number(r.s))
    const clocks = seconds.slice(0, 4).flatMap((s) => [s - 1, s, s + 1].map((limit) => (limit + STALE_SECONDS) * 1000)).concat([clock + 250, clock + 999])
    for (const now of clocks) {
      const { reported } = await runPart(db, availability.current([], Math.floor(now / 1000) * 1000, STALE_SECONDS * 1000))
      const counted = Object.fromEntries([...reported].sort(([a], [b]) => a.localeCompare(b)))
      t.same(counted, await fromRows(now), `device figures at ${new Date(now).toISOString()}`)
      // Windows from well before every report, from between reports, and from after the stale limit (the highest limit then).
      const at = Math.floor(now / 1000) * 1000
      const windows = [at - 3 * 3_600_000, at - 1_800_000, at - 120_000].map((start) => ({ start, end: at + 1 }))
      const { openTime } = await runPart(db, availability.current(windows, at, STALE_SECONDS * 1000))
      t.same(openTime.map(plain), await openTimeFromRows(windows.map((w) => w.start), at), `open periods' time in windows at ${new Date(now).toISOString()}`)
    }
    await summaries.compactRegistryCounts()
    const folded = (await sql<{ province_code: string }>`select province_code from registry_counts group by province_code, device_type, kind, status, programme
      having count(*) > 1 or sum(devices) = 0`.execute(db)).rows
    t.same(folded, [], 'folded: one row per count, none of zero')
    return true
  }), { numRuns: 30 })

  /** Sums by province as plain objects, states of no time left out. */
  function plain(sums: Map<string, { ms: Record<string, number> }>) {
    return Object.fromEntries([...sums].sort(([a], [b]) => a.localeCompare(b))
      .map(([code, { ms }]) => [code, Object.fromEntries(Object.entries(ms).filter(([, value]) => value !== 0))]))
  }

  /**
   * The open periods' time in each window by the rule the buckets sum (see AvailabilityStore.current), applied device by
   * device to the current states: a bucket is the devices of one second, and the totals are the buckets, so reading some
   * buckets one by one and the rest as totals must give what every device gives on its own, at any clock.
   */
  async function openTimeFromRows(starts: number[], now: number) {
    const stale = STALE_SECONDS * 1000
    const fresh = now - stale
    const windows = []
    for (const start of starts) {
      const { rows } = await sql<{ province_code: string, state: string, ms: string, silent: string }>`
        select province_code, state,
          sum(case
            when seen >= ${fresh}::bigint then case when seen >= ${start}::bigint then ${now}::bigint - started else ${now - start}::bigint end
            when seen >= ${start}::bigint then observed + ${stale}::bigint - started
            when seen >= ${start - stale}::bigint then observed + ${stale - start}::bigint
            else 0 end)::text as ms,
          sum(case
            when seen >= ${fresh}::bigint then 0
            when seen >= ${start - stale}::bigint then ${now - stale}::bigint - observed
            else ${now - start}::bigint end)::text as silent
        from device_status, lateral (select round(date_part('epoch', run_started_at) * 1000)::bigint as started,
          round(date_part('epoch', observed_at) * 1000)::bigint as observed, floor(extract(epoch from observed_at))::bigint * 1000 as seen) t
        group by 1, 2`.execute(db)
      const sums = new Map<string, { ms: Record<string, number> }>()
      for (const row of rows) {
        const { ms } = sums.get(row.province_code) ?? sums.set(row.province_code, { ms: {} }).get(row.province_code)!
        ms[row.state] = (ms[row.state] ?? 0) + Number(row.ms)
        ms.silent = (ms.silent ?? 0) + Number(row.silent)
      }
      windows.push(plain(sums))
    }
    return windows
  }

  /** The device figures counted from the rows themselves, with the stale limit at the whole second of `now`. */
  async function fromRows(now: number) {
    const staleBefore = new Date((Math.floor(now / 1000) - STALE_SECONDS) * 1000)
    const gone = (type: DeviceType) => sql`select province_code, ${type}::text as device_type, id from ${table(type)} where deleted_at is not null or status = 'decommissioned'`
    const { rows } = await sql<{ province_code: string, reported: number, online: number, offline: number, stale: number }>`
      select s.province_code, count(*)::int as reported,
        count(*) filter (where s.observed_at >= ${staleBefore} and s.state in ('online', 'playing', 'idle'))::int as online,
        count(*) filter (where s.observed_at >= ${staleBefore} and s.state in ('offline', 'fault'))::int as offline,
        count(*) filter (where s.observed_at < ${staleBefore})::int as stale
      from device_status s
      where not exists (select 1 from (${gone('station')} union all ${gone('cluster')} union all ${gone('board')}) g
        where g.province_code = s.province_code and g.device_type = s.device_type and g.id = s.device_id)
      group by s.province_code`.execute(db)
    // A province whose every report is of a device no longer in place has no devices reported: it is not listed.
    return Object.fromEntries(rows.map(({ province_code: code, ...figures }) => [code, figures]).sort(([a], [b]) => (a as string).localeCompare(b as string)))
  }
})

t.test('programme counts kept as clusters change equal the programmes counted from the rows', async (t) => {
  const { db } = await testDatabase(t)
  const summaries = new SummariesStore(db)
  const provinces = (await sql<{ code: string }>`select code from admin_units where level = 'province' and status = 'active' order by code limit 2`.execute(db)).rows.map((r) => r.code)
  const commune = await firstCommune(db)
  const STATIONS = ['base', 'other']
  for (const province of provinces) for (const station of STATIONS) await insertStation(db, province, station, commune)
  const IDS = ['c0', 'c1', 'c2', 'c3', 'c4']
  const VILLAGES = ['Thôn 1', 'Thôn 2', 'Bản Mới']
  const programme = fc.constantFrom(null, 'replacement', 'replacement', 'extension', 'extension', 'new_station')
  const cluster = fc.record({ province: fc.nat(1), id: fc.constantFrom(...IDS) })
  const operation = fc.oneof(
    { arbitrary: fc.record({
      op: fc.constant('put' as const), cluster, station: fc.constantFrom(...STATIONS), programme, status: fc.constantFrom(...STATUSES),
      replaces: fc.array(fc.constantFrom(...IDS), { maxLength: 3 }), villagesCovered: fc.array(fc.constantFrom(...VILLAGES), { maxLength: 3 }),
      village: fc.option(fc.constantFrom(...VILLAGES)),
    }), weight: 6 },
    // One statement over many rows, naming the same keys several times.
    { arbitrary: fc.record({ op: fc.constant('reprogramme' as const), province: fc.nat(1), programme }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant('name' as const), province: fc.nat(1), replaced: fc.constantFrom(...IDS), village: fc.constantFrom(...VILLAGES) }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constantFrom('retire' as const, 'decommission' as const, 'erase' as const), cluster }), weight: 2 },
    { arbitrary: fc.record({ op: fc.constant('station' as const), province: fc.nat(1), station: fc.constantFrom(...STATIONS), programme: fc.boolean(), status: fc.constantFrom(...STATUSES) }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant('fold' as const) }), weight: 1 },
  )
  await fc.assert(fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 20 }), async (operations) => {
    for (const o of operations) {
      if (o.op === 'put') {
        await sql`insert into clusters (province_code, id, station_id, kind, status, programme, replaces, villages_covered, village, content_hash)
          values (${provinces[o.cluster.province]!}, ${o.cluster.id}, ${o.station}, 'ip', ${o.status}, ${o.programme}, ${o.replaces}, ${o.villagesCovered}, ${o.village}, 'h')
          on conflict (province_code, id) do update set station_id = excluded.station_id, status = excluded.status, programme = excluded.programme,
            replaces = excluded.replaces, villages_covered = excluded.villages_covered, village = excluded.village, deleted_at = null`.execute(db)
      } else if (o.op === 'reprogramme') {
        await sql`update clusters set programme = ${o.programme} where province_code = ${provinces[o.province]!}`.execute(db)
      } else if (o.op === 'name') {
        await sql`update clusters set replaces = array_append(replaces, ${o.replaced}), villages_covered = array_append(villages_covered, ${o.village})
          where province_code = ${provinces[o.province]!}`.execute(db)
      } else if (o.op === 'retire') {
        await sql`update clusters set deleted_at = now() where province_code = ${provinces[o.cluster.province]!} and id = ${o.cluster.id}`.execute(db)
      } else if (o.op === 'decommission') {
        await sql`update clusters set status = 'decommissioned' where province_code = ${provinces[o.cluster.province]!} and id = ${o.cluster.id}`.execute(db)
      } else if (o.op === 'erase') {
        await sql`delete from clusters where province_code = ${provinces[o.cluster.province]!} and id = ${o.cluster.id}`.execute(db)
      } else if (o.op === 'station') {
        await sql`update stations set programme = ${o.programme ? 'new_station' : null}, status = ${o.status}
          where province_code = ${provinces[o.province]!} and id = ${o.station}`.execute(db)
      } else {
        await summaries.compactRegistryCounts()
      }
    }
    // A province whose changes add up to nothing may still have rows until they are folded: counted with zeros.
    const counted = async (only?: string) => Object.fromEntries([...await runPart(db, summaries.programmes(only))]
      .filter(([, p]) => Object.values(p).some((n) => n !== 0)).sort(([a], [b]) => a.localeCompare(b)))
    const fromRows = await programmesFromRows()
    t.same(await counted(), fromRows, 'programmes')
    t.same((await sql`select count(*)::int as n from programme_refs where refs <= 0`.execute(db)).rows, [{ n: 0 }], 'only keys still named are kept')
    for (const province of provinces) {
      t.same(await counted(province), Object.fromEntries(Object.entries(fromRows).filter(([code]) => code === province)), `programmes of ${province} alone`)
    }
    return true
  }), { numRuns: 30 })

  /** The programmes counted from the stations and clusters themselves. */
  async function programmesFromRows() {
    const inPlace = sql`deleted_at is null and status <> 'decommissioned'`
    const { rows } = await sql<{ province_code: string, new_stations: number, replacement_clusters: number, clusters_replaced: number, extension_clusters: number, villages: number }>`
      select p.code as province_code,
        (select count(*) from stations s where s.province_code = p.code and ${inPlace} and programme = 'new_station')::int as new_stations,
        (select count(*) from clusters c where c.province_code = p.code and ${inPlace} and programme = 'replacement')::int as replacement_clusters,
        (select count(distinct r) from clusters c, unnest(replaces) r where c.province_code = p.code and ${inPlace} and programme = 'replacement')::int as clusters_replaced,
        (select count(*) from clusters c where c.province_code = p.code and ${inPlace} and programme = 'extension')::int as extension_clusters,
        (select count(distinct (station_id, v)) from clusters c, unnest(case when cardinality(villages_covered) > 0 then villages_covered else array[village] end) v
          where c.province_code = p.code and ${inPlace} and programme = 'extension' and v is not null)::int as villages
      from admin_units p where p.level = 'province' and p.code in (${sql.join(provinces)}) order by p.code`.execute(db)
    return Object.fromEntries(rows.map((r) => [r.province_code, {
      newStations: r.new_stations, replacementClusters: r.replacement_clusters, clustersReplaced: r.clusters_replaced,
      extensionClusters: r.extension_clusters, villagesNewlyCovered: r.villages,
    }]).filter(([, p]) => Object.values(p as object).some((n) => n !== 0)))
  }
})

t.test('a registry transaction never waits for another of its province, and folding keeps what is still open', { skip: serverUrl ? false : 'needs concurrent connections (real PostgreSQL)' }, async (t) => {
  const { db } = await testDatabase(t, { poolMax: 4 })
  const summaries = new SummariesStore(db)
  const commune = await firstCommune(db)
  const insert = (trx: typeof db, stationId: string) => insertStation(trx, '79', stationId, commune)
  let release!: () => void
  const mayCommit = new Promise<void>((resolve) => { release = resolve })
  let wrote!: () => void
  const written = new Promise<void>((resolve) => { wrote = resolve })
  const open = db.transaction().execute(async (trx) => {
    await insert(trx, 'open')
    wrote()
    await mayCommit
  })
  await written
  await db.transaction().execute(async (trx) => {
    await sql`set local lock_timeout = '2s'`.execute(trx)
    await insert(trx, 'committed')
  })
  t.same(await summaries.compactRegistryCounts(), { folded: 1, kept: 1 }, 'folding takes the committed row only')
  release()
  await open
  const counted = async () => Number((await sql<{ n: string }>`select sum(devices) as n from registry_counts where province_code = '79' and device_type = 'station'`.execute(db)).rows[0]!.n)
  t.equal(await counted(), 2)
  t.same(await summaries.compactRegistryCounts(), { folded: 2, kept: 1 })
  t.equal(await counted(), 2, 'both stations counted once')
})

t.test('the open periods\' time from the buckets equals the time summed over every device\'s open period', async (t) => {
  const { db } = await testDatabase(t)
  const status = new StatusStore(db)
  const availability = new AvailabilityStore(db)
  await MonthlyPartitions.history(db).ensure(['202611', '202612', '202701'])
  await MonthlyPartitions.days(db).ensure(['202611', '202612', '202701'])
  const STALE_MS = STALE_SECONDS * 1000
  const report = fc.record({
    type: fc.constantFrom(...TYPES), id: fc.nat(4), state: fc.constantFrom(...STATES),
    step: fc.constantFrom(1, 999, 1000, 30_000, 60_000, STALE_MS - 1000, STALE_MS, STALE_MS + 1, 3 * 3_600_000, 86_400_000),
    batch: fc.boolean(),
  })
  let run = 0
  await fc.assert(fc.asyncProperty(fc.array(report, { minLength: 1, maxLength: 40 }), fc.array(fc.constantFrom(-1000, 0, 1000, 7_000), { minLength: 1, maxLength: 3 }), async (reports, offsets) => {
    run += 1
    const province = ['01', '04', '08'][run % 3]!
    await sql`delete from device_status where province_code = ${province}`.execute(db)
    // 23:50 in Vietnam, so that streams cross midnights.
    let at = Date.UTC(2026, 10, 20, 16, 50) + run * 7
    let batch: StatusEvent[] = []
    const send = async () => {
      if (batch.length > 0) await db.transaction().execute((trx) => status.write(trx, province, batch, new Date(at), STALE_MS, () => undefined))
      batch = []
    }
    for (const r of reports) {
      at += r.step
      batch.push({ deviceType: r.type, deviceId: id(r.id), state: r.state, observedAt: new Date(at).toISOString() })
      if (!r.batch) await send()
    }
    await send()
    const newest = Math.ceil(at / 1000) * 1000
    // Clocks on the stale limit of the newest report and either side of it, and across the next midnights.
    const midnight = vietnamDayStart(vietnamDay(newest) + 1)
    const clocks = [...offsets.map((offset) => newest + STALE_MS + offset), newest, midnight - 1000, midnight, midnight + STALE_MS, newest + 8 * 86_400_000]
    for (const now of clocks.filter((c) => c >= newest)) {
      const today = vietnamDay(now)
      const windows = [0, 1, 6, 29].map((days) => windowOf(dayDate(today - days), dayDate(today)))
      const [bucketed, scanned] = await Promise.all([runPart(db, availability.current(windows, now, STALE_MS, province)).then((current) => current.openTime), runPart(db, availability.openSums(windows, now, STALE_MS, province))])
      windows.forEach((window, i) => {
        const ms = (sums: Map<string, { ms: object }>) => sums.get(province)?.ms
        t.same(ms(bucketed[i]!), ms(scanned[i]!), `${window.from}..${window.to} at ${new Date(now).toISOString()}`)
      })
    }
    return true
  }), { numRuns: 40 })
})

t.test('content reach kept as items, notifications, acknowledgements and logs change equals reach counted from those rows', async (t) => {
  const { db } = await testDatabase(t)
  const summaries = new SummariesStore(db)
  const provinces = (await sql<{ code: string }>`select code from admin_units where level = 'province' and status = 'active' order by code limit 4`.execute(db)).rows.map((r) => r.code)
  const commune = await firstCommune(db)
  const topic = (await sql<{ id: string }>`select id from content_topics limit 1`.execute(db)).rows[0]!.id
  for (const province of provinces) await insertStation(db, province, 'base', commune)
  const now = Date.UTC(2026, 10, 20, 3, 0)
  const items: string[] = []
  const targets = fc.option(fc.subarray([0, 1, 2, 3], { minLength: 1 }), { freq: 3 })
  const pick = fc.record({ item: fc.nat(), province: fc.nat(3) })
  const operation = fc.oneof(
    { arbitrary: fc.record({ op: fc.constant('publish' as const), targets, origin: fc.constantFrom('central', 'central', 'province'), daysAgo: fc.integer({ min: 0, max: 40 }), test: fc.boolean() }), weight: 2 },
    { arbitrary: fc.record({ op: fc.constant('retarget' as const), item: fc.nat(), targets, daysAgo: fc.integer({ min: 0, max: 40 }) }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constantFrom('ack' as const, 'unack' as const, 'notify' as const, 'deliver' as const, 'undeliver' as const, 'play' as const, 'unplay' as const), at: pick }), weight: 8 },
  )
  let n = 0
  await fc.assert(fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 30 }), async (operations) => {
    for (const o of operations) {
      n += 1
      if (o.op === 'publish') {
        const id = (await sql<{ id: string }>`select gen_random_uuid()::text as id`.execute(db)).rows[0]!.id
        const at = new Date(now - o.daysAgo * 86_400_000)
        const audience = o.targets ? o.targets.map((i) => provinces[i]!) : null
        await sql`insert into contents (id, origin, province_code, version, status, topic_id, priority, targets, audience, test, item, published_by, published_at, updated_at)
          values (${id}, ${o.origin}, ${o.origin === 'province' ? provinces[0]! : null}, 1, 'active', ${topic}, 'normal',
            ${audience}, ${audience}, ${o.test}, '{}'::jsonb, 'central-portal', ${at}, ${at})`.execute(db)
        await sql`insert into content_events (id, content_id, version, type, audience, item, occurred_at) values (${id}, ${id}, 1, 'content.published', null, '{}'::jsonb, ${at})`.execute(db)
        items.push(id)
        continue
      }
      if (items.length === 0) continue
      if (o.op === 'retarget') {
        // A version that moves the item to other provinces, or to communes of them: the audience changes either way.
        await sql`update contents set audience = ${o.targets ? o.targets.map((i) => provinces[i]!) : null}, published_at = ${new Date(now - o.daysAgo * 86_400_000)}
          where id = ${items[o.item % items.length]!}`.execute(db)
        continue
      }
      // One of the three newest items, so that operations meet on the same item and province.
      const item = items[items.length - 1 - (o.at.item % Math.min(items.length, 3))]!
      const province = provinces[o.at.province]!
      if (o.op === 'ack') {
        await sql`insert into content_acks (content_id, province_code, version, received_at) values (${item}, ${province}, 1, now()) on conflict do nothing`.execute(db)
      } else if (o.op === 'unack') {
        await sql`delete from content_acks where content_id = ${item} and province_code = ${province}`.execute(db)
      } else if (o.op === 'notify' || o.op === 'deliver') {
        await sql`insert into webhook_outbox (notification_id, province_code, system_id, content_id, rank, state) values (${item}, ${province}, 'p', ${item}, 2, ${o.op === 'deliver' ? 'delivered' : 'pending'})
          on conflict (notification_id, province_code) do update set state = excluded.state`.execute(db)
      } else if (o.op === 'undeliver') {
        await sql`update webhook_outbox set state = 'pending' where content_id = ${item} and province_code = ${province}`.execute(db)
      } else if (o.op === 'play') {
        const started = new Date(now - 3_600_000 + n * 1000)
        await sql`insert into broadcast_logs (province_code, station_id, started_at, ended_at, content_id, source) values (${province}, 'base', ${started}, ${new Date(started.getTime() + 60_000)}, ${item}, 'central')`.execute(db)
      } else {
        await sql`delete from broadcast_logs where content_id = ${item} and province_code = ${province}`.execute(db)
      }
    }
    const kept = [...await runPart(db, summaries.content(new Date(now)))].sort(([a], [b]) => a.localeCompare(b))
    const since = new Date(now - 30 * 86_400_000)
    const counted = (test: boolean) => sql<{ province_code: string, items: number, delivered: number, acknowledged: number, played: number }>`
      select p.code as province_code, count(*)::int as items,
        (count(*) filter (where acked or exists (select 1 from webhook_outbox w where w.content_id = c.id and w.province_code = p.code and w.state = 'delivered')))::int as delivered,
        (count(*) filter (where acked))::int as acknowledged,
        (count(*) filter (where exists (select 1 from broadcast_logs b where b.content_id = c.id and b.province_code = p.code)))::int as played
      from admin_units p
      join contents c on c.origin = 'central' and c.published_at >= ${since} and (c.audience is null or p.code = any(c.audience)) and c.test = ${test}
      cross join lateral (select exists (select 1 from content_acks a where a.content_id = c.id and a.province_code = p.code) as acked) ack
      where p.level = 'province' and p.status = 'active'
      group by p.code order by p.code`.execute(db)
    const byProvince = async (test: boolean) => Object.fromEntries((await counted(test)).rows.map(({ province_code: code, ...figures }) => [code, figures]))
    const none = { items: 0, delivered: 0, acknowledged: 0, played: 0 }
    const [real, exercises] = [await byProvince(false), await byProvince(true)]
    t.same(Object.fromEntries(kept.map(([code, figures]) => [code, figures.content])), Object.fromEntries(kept.map(([code]) => [code, real[code] ?? none])), 'reach of real items per province')
    t.same(Object.fromEntries(kept.map(([code, figures]) => [code, figures.exercises])), Object.fromEntries(kept.map(([code]) => [code, exercises[code] ?? none])), 'reach of exercises per province')
    t.same(kept.map(([code]) => code), [...new Set([...Object.keys(real), ...Object.keys(exercises)])].sort(), 'every province with either, and no other')
    return true
  }), { numRuns: 30 })
})

t.test('exercises\' plays are kept apart from the others: for any mix, ordinary and exercise figures are those of their plays, and add up to every play', async (t) => {
  const { db } = await testDatabase(t)
  const summaries = new SummariesStore(db)
  const provinces = (await sql<{ code: string }>`select code from admin_units where level = 'province' and status = 'active' order by code limit 2`.execute(db)).rows.map((r) => r.code)
  const commune = await firstCommune(db)
  const topic = (await sql<{ id: string }>`select id from content_topics limit 1`.execute(db)).rows[0]!.id
  for (const province of provinces) await insertStation(db, province, 'base', commune)
  const item = async (test: boolean) => {
    const id = (await sql<{ id: string }>`select gen_random_uuid()::text as id`.execute(db)).rows[0]!.id
    await sql`insert into contents (id, origin, province_code, version, status, topic_id, priority, targets, audience, test, item, published_by, published_at, updated_at)
      values (${id}, 'central', null, 1, 'active', ${topic}, 'normal', null, null, ${test}, '{}'::jsonb, 'central-portal', now(), now())`.execute(db)
    return id
  }
  const contentOf = { local: null, real: await item(false), exercise: await item(true) }
  // 10:00 in Vietnam; each play starts a second after the one before on its day, so none overlaps another's start.
  const now = Date.UTC(2026, 10, 20, 3, 0)
  const today = vietnamDay(now)
  const play = fc.record({ province: fc.nat(1), what: fc.constantFrom('local' as const, 'real' as const, 'exercise' as const), daysAgo: fc.integer({ min: 0, max: 35 }), minutes: fc.integer({ min: 1, max: 180 }), batch: fc.boolean() })
  const zero = () => ({ seconds7: 0, seconds30: 0, exerciseSeconds7: 0, exerciseSeconds30: 0, exercisePlays30: 0, allSeconds30: 0, contentPlays: 0, exercisePlays: 0, itemPlays: 0 })
  const expected = new Map(provinces.map((p) => [p, zero()]))
  let n = 0
  await fc.assert(fc.asyncProperty(fc.array(play, { minLength: 1, maxLength: 40 }), async (plays) => {
    let batch: { province: string, startedAt: Date, endedAt: Date, contentId: string | null }[] = []
    const send = async () => {
      if (batch.length === 0) return
      await sql`insert into broadcast_logs (province_code, station_id, started_at, ended_at, content_id, source)
        select province, 'base', started_at, ended_at, content_id, 'central'
        from unnest(${batch.map((b) => b.province)}::text[], ${batch.map((b) => b.startedAt)}::timestamptz[], ${batch.map((b) => b.endedAt)}::timestamptz[], ${batch.map((b) => b.contentId)}::uuid[])
          as p(province, started_at, ended_at, content_id)`.execute(db)
      batch = []
    }
    for (const p of plays) {
      n += 1
      const province = provinces[p.province]!
      const startedAt = new Date(vietnamDayStart(today - p.daysAgo) + n * 1000)
      batch.push({ province, startedAt, endedAt: new Date(startedAt.getTime() + p.minutes * 60_000), contentId: contentOf[p.what] })
      if (!p.batch) await send()
      const seconds = p.minutes * 60
      const figures = expected.get(province)!
      const inWeek = p.daysAgo < 7
      const inMonth = p.daysAgo < 30
      if (p.what === 'exercise') {
        figures.exerciseSeconds7 += inWeek ? seconds : 0
        figures.exerciseSeconds30 += inMonth ? seconds : 0
        figures.exercisePlays30 += inMonth ? 1 : 0
        figures.exercisePlays += 1
      } else {
        figures.seconds7 += inWeek ? seconds : 0
        figures.seconds30 += inMonth ? seconds : 0
        figures.contentPlays += p.what === 'real' ? 1 : 0
      }
      figures.allSeconds30 += inMonth ? seconds : 0
      figures.itemPlays += p.what === 'local' ? 0 : 1
    }
    await send()

    const hours = (seconds: number) => Math.round(seconds / 3600 * 100) / 100
    const kept = await runPart(db, summaries.broadcast(new Date(now)))
    const daily = (await sql<{ province_code: string, content_plays: number, exercise_plays: number }>`
      select province_code, sum(content_plays)::int as content_plays, sum(exercise_plays)::int as exercise_plays from broadcast_airtime_daily group by 1`.execute(db)).rows
    for (const [province, figures] of expected) {
      const section = kept.get(province) ?? { broadcast: { hoursLast7Days: 0, hoursLast30Days: 0 }, exercises: { playsLast30Days: 0, hoursLast7Days: 0, hoursLast30Days: 0 } }
      t.same(section, {
        broadcast: { hoursLast7Days: hours(figures.seconds7), hoursLast30Days: hours(figures.seconds30) },
        exercises: { playsLast30Days: figures.exercisePlays30, hoursLast7Days: hours(figures.exerciseSeconds7), hoursLast30Days: hours(figures.exerciseSeconds30) },
      }, `airtime of ${province}, exercises apart`)
      t.ok(Math.abs(section.broadcast.hoursLast30Days + section.exercises.hoursLast30Days - hours(figures.allSeconds30)) < 0.011, 'ordinary and exercise airtime add up to all of it')
      const plays = daily.find((d) => d.province_code === province) ?? { content_plays: 0, exercise_plays: 0 }
      t.same([plays.content_plays, plays.exercise_plays], [figures.contentPlays, figures.exercisePlays], `plays of items in ${province}, exercises apart`)
      t.equal(plays.content_plays + plays.exercise_plays, figures.itemPlays, 'and together every play of an item')
    }
    return true
  }), { numRuns: 30 })
})

t.test('a device leaving its place while its province reports: the report waits for it, and the device is counted out of place', { skip: serverUrl ? false : 'needs concurrent connections (real PostgreSQL)' }, async (t) => {
  const { db } = await testDatabase(t, { poolMax: 4 })
  const status = new StatusStore(db)
  const availability = new AvailabilityStore(db)
  await MonthlyPartitions.history(db).ensure(['202611'])
  await MonthlyPartitions.days(db).ensure(['202611'])
  const commune = await firstCommune(db)
  await insertStation(db, '79', 'st', commune)
  const report = (at: number) => db.transaction().execute((trx) => status.write(trx, '79', [{ deviceType: 'station', deviceId: 'st', state: 'online', observedAt: new Date(at).toISOString() }], new Date(at), 600_000, () => undefined))
  await report(BASE)
  let release!: () => void
  const mayCommit = new Promise<void>((resolve) => { release = resolve })
  let moved!: () => void
  const hasMoved = new Promise<void>((resolve) => { moved = resolve })
  const leaving = db.transaction().execute(async (trx) => {
    await sql`update stations set status = 'decommissioned' where province_code = '79' and id = 'st'`.execute(trx)
    moved()
    await mayCommit
  })
  await hasMoved
  let reported = false
  const reporting = report(BASE + 60_000).then(() => { reported = true })
  const waiting = async () => Number((await sql<{ n: string }>`select count(*) as n from pg_locks where locktype = 'advisory' and not granted`.execute(db)).rows[0]!.n)
  while (await waiting() === 0 && !reported) await new Promise((resolve) => setImmediate(resolve))
  t.notOk(reported, 'the report waits for the registry change, on the province\'s status lock')
  release()
  await Promise.all([leaving, reporting])
  const buckets = (await sql`select in_place, devices, seen_second::text from device_state_seconds where province_code = '79'`.execute(db)).rows
  t.same(buckets, [{ in_place: false, devices: 1, seen_second: String((BASE + 60_000) / 1000) }], 'one device, out of place, at its newest report')
  t.same([...(await runPart(db, availability.current([], BASE + 60_000, STALE_SECONDS * 1000, '79'))).reported], [], 'nothing reported in place')
})

t.test('days summed in float8 stay exact up to 2^53 - 1 ms, beyond any window a province can fill', async (t) => {
  const { db } = await testDatabase(t)
  const availability = new AvailabilityStore(db)
  // Two odd halves of the largest exact integer: a sum rounded anywhere would come out even.
  await sql`insert into province_status_days (province_code, day, online_ms, silent_ms, faults)
    values ('79', '2026-11-01', 4503599627370495, 1, 1), ('79', '2026-11-02', 4503599627370496, 2, 2)`.execute(db)
  const [both, first] = await runPart(db, availability.provinceDays([windowOf('2026-11-01', '2026-11-02'), windowOf('2026-11-01', '2026-11-01')], '79'))
  t.equal(both!.get('79')!.ms.online, Number.MAX_SAFE_INTEGER, 'the largest safe sum, exactly')
  t.equal(both!.get('79')!.ms.silent, 3)
  t.equal(both!.get('79')!.faults, 3)
  t.equal(first!.get('79')!.ms.online, 4503599627370495, 'a window of the first day alone')
})
