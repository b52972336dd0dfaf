import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table admin_units (
      code text primary key check (code ~ '^([0-9]{2}|[0-9]{5})$'),
      name text,
      level text not null check (level in ('province', 'commune')),
      kind text check (kind in ('tinh', 'thanh_pho', 'xa', 'phuong', 'dac_khu')),
      province_code text references admin_units (code),
      status text not null check (status in ('active', 'retired')),
      successor_code text references admin_units (code),
      retired_on date,
      updated_at timestamptz not null default now(),
      check (level = 'province' or province_code is not null),
      check (status = 'retired' or (name is not null and kind is not null))
    )`.execute(db)
  await sql`create index admin_units_level_province on admin_units (level, province_code, code)`.execute(db)
  await sql`
    create table admin_unit_predecessors (
      unit_code text not null references admin_units (code),
      predecessor_code text not null,
      predecessor_name text,
      effective_on date not null,
      primary key (unit_code, predecessor_code)
    )`.execute(db)
  await sql`create index admin_unit_predecessors_code on admin_unit_predecessors (predecessor_code)`.execute(db)
}
