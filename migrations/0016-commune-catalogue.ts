import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parse } from 'csv-parse/sync'
import { sql, type Kysely } from 'kysely'
import { projectPath } from '../src/paths.js'

/**
 * The 3,321 commune-level units in force since 1 July 2025 (Phụ lục I, Công văn 1027/CTK-CSCL)
 * become the default catalogue, so commune checks hold from the first start. The catalogue is
 * versioned: this is version 1, with the checksum of the file it came from and every unit it
 * added; each later import is a new version with its differences. A former unit may have been
 * split between several new ones: each succession carries an optional note.
 */
export const COMMUNES_2025 = 'communes-2025.csv'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table catalogue_versions (
      version integer primary key,
      source text not null,
      sha256 text not null,
      units integer not null,
      added integer not null,
      updated integer not null,
      retired integer not null,
      successions integer not null,
      imported_at timestamptz not null default now()
    )`.execute(db)
  await sql`
    create table catalogue_changes (
      version integer not null references catalogue_versions (version),
      code text not null,
      change text not null check (change in ('added', 'updated', 'retired', 'succession')),
      before jsonb,
      after jsonb,
      primary key (version, code, change)
    )`.execute(db)
  await sql`alter table admin_unit_predecessors add column note text check (length(note) <= 500)`.execute(db)

  const bytes = readFileSync(projectPath('reference', COMMUNES_2025))
  const rows = parse(bytes, { columns: true, skip_empty_lines: true, trim: true }) as { code: string, name: string, kind: string, province_code: string }[]
  // Units a database imported before this version keep their row and are brought in line with the official list.
  const { rows: changed } = await sql<{ code: string, inserted: boolean, before: unknown, after: unknown }>`
    with incoming as (
      select * from unnest(${rows.map((r) => r.code)}::text[], ${rows.map((r) => r.name)}::text[], ${rows.map((r) => r.kind)}::text[], ${rows.map((r) => r.province_code)}::text[])
        as v(code, name, kind, province_code)
    ), previous as (
      select u.code, jsonb_build_object('name', u.name, 'kind', u.kind, 'provinceCode', u.province_code, 'status', u.status) as before
      from admin_units u join incoming using (code)
    ), written as (
      insert into admin_units (code, name, level, kind, province_code, status)
      select code, name, 'commune', kind, province_code, 'active' from incoming
      on conflict (code) do update set name = excluded.name, kind = excluded.kind, province_code = excluded.province_code,
        status = 'active', successor_code = null, retired_on = null, updated_at = now()
      where (admin_units.name, admin_units.kind, admin_units.province_code, admin_units.status)
        is distinct from (excluded.name, excluded.kind, excluded.province_code, 'active')
      returning code, name, kind, province_code, xmax = 0 as inserted
    )
    select w.code, w.inserted, p.before, jsonb_build_object('name', w.name, 'kind', w.kind, 'provinceCode', w.province_code, 'status', 'active') as after
    from written w left join previous p using (code)`.execute(db)
  const added = changed.filter((c) => c.inserted).length
  await sql`insert into catalogue_versions (version, source, sha256, units, added, updated, retired, successions)
    values (1, ${COMMUNES_2025}, ${createHash('sha256').update(bytes).digest('hex')}, ${rows.length}, ${added}, ${changed.length - added}, 0, 0)`.execute(db)
  if (changed.length > 0) {
    await sql`insert into catalogue_changes (version, code, change, before, after)
      select 1, code, case when inserted then 'added' else 'updated' end, before, after
      from jsonb_to_recordset(${JSON.stringify(changed)}::jsonb) as c(code text, inserted boolean, before jsonb, after jsonb)`.execute(db)
  }
}
