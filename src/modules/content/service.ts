import type { Static } from 'typebox'
import type { ContentRequest, SharedContentRequest } from '../../../schemas/content.js'
import type { Db } from '../../db/database.js'
import { compareKeys } from '../../db/parts.js'
import { HttpProblem } from '../../http/problem.js'
import type { ContentStore, Item } from './store.js'

type Request = Static<typeof ContentRequest>
type SharedRequest = Static<typeof SharedContentRequest>

const refuse = (detail: string) => new HttpProblem('rule-violated', detail)

/** A language tag in canonical form (`KM` as `km`); the schema checks its shape, this what a pattern cannot (a variant given twice, say). */
export function canonicalLanguage(tag: string): string {
  try {
    return Intl.getCanonicalLocales(tag)[0]!
  } catch {
    throw refuse(`language ${tag} is not a well-formed BCP 47 language tag`)
  }
}

/**
 * The rules of a content item a schema cannot state: a known topic, a window that ends after it
 * starts, a well-formed language; for central's items, active target provinces and target
 * communes that are active, not named beside `all` nor in a province targeted whole, and at
 * least one province or commune targeted. Answers the communes with their provinces in code
 * order, and the language in canonical form (`vi` when not given).
 */
export async function checkContent(store: ContentStore, trx: Db, body: SharedRequest & Partial<Pick<Request, 'targets' | 'communes'>>): Promise<Pick<Item, 'communes' | 'language'>> {
  if (!await store.topicExists(body.topic, trx)) throw refuse(`no topic ${body.topic}; GET /v2/content-topics lists them`)
  const from = body.validFrom ? Date.parse(body.validFrom) : Date.now()
  if (body.validUntil && Date.parse(body.validUntil) <= from) throw refuse('validUntil must come after validFrom')
  const language = canonicalLanguage(body.language ?? 'vi')
  const { targets, communes: codes = [] } = body
  if (targets === 'all' && codes.length > 0) {
    throw refuse(`targets all reaches every commune already; communes ${codes.join(', ')} go with a list of provinces (empty for communes only)`)
  }
  if (!Array.isArray(targets)) return { communes: [], language }
  if (targets.length === 0 && codes.length === 0) throw refuse('an item targets at least one province or commune: targets and communes are both empty')
  const active = new Set(await store.activeProvinces(trx))
  const unknown = targets.filter((code) => !active.has(code))
  if (unknown.length > 0) throw refuse(`not active provinces: ${unknown.join(', ')}`)
  const communes = (await store.activeCommunes(codes, trx)).sort((a, b) => compareKeys(a.code, b.code))
  const found = new Set(communes.map((c) => c.code))
  const inactive = codes.filter((code) => !found.has(code)).sort()
  if (inactive.length > 0) throw refuse(`not active communes: ${inactive.join(', ')}`)
  const redundant = communes.filter((c) => targets.includes(c.province))
  if (redundant.length > 0) {
    throw refuse(`redundant communes, their provinces are targeted whole: ${redundant.map((c) => `${c.code} (province ${c.province})`).join(', ')}`)
  }
  return { communes, language }
}

/** A new version keeps what its item is, an exercise or not, so that every play of the item is counted on the one side. */
export function checkExerciseKept(current: Item, test: boolean): void {
  if (current.test === test) return
  throw refuse(current.test
    ? `content ${current.id} is an exercise (test: true) and stays one; publish the real item anew`
    : `content ${current.id} is not an exercise and cannot become one; publish the exercise as a new item with test: true`)
}

/** An acknowledgement covers only target communes of the item in the caller's province. */
export function checkAckCommunes(item: Item, province: string, codes: string[] | undefined): void {
  const targeted = new Set(item.communes.filter((c) => c.province === province).map((c) => c.code))
  const others = (codes ?? []).filter((code) => !targeted.has(code))
  if (others.length > 0) throw refuse(`not target communes of content ${item.id} in province ${province}: ${others.join(', ')}`)
}
