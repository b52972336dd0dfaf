import type { Db } from '../../db/database.js'

export interface StoredReceipt {
  id: string
  issuedAt: Date
  caller: string
  provinceCode: string | null
  jws: string
}

export class ReceiptStore {
  constructor(private readonly db: Db) {}

  async insert(receipt: StoredReceipt, db: Db = this.db): Promise<void> {
    await db.insertInto('receipts').values({
      id: receipt.id, issued_at: receipt.issuedAt, caller: receipt.caller, province_code: receipt.provinceCode, jws: receipt.jws,
    }).execute()
  }

  async get(id: string): Promise<StoredReceipt | undefined> {
    const row = await this.db.selectFrom('receipts').selectAll().where('id', '=', id).executeTakeFirst()
    return row && { id: row.id, issuedAt: row.issued_at, caller: row.caller, provinceCode: row.province_code, jws: row.jws }
  }
}
