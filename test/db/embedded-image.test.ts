import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { sql } from 'kysely'
import { openEmbedded } from '../../src/db/database.js'
import { ensureEmbeddedImage, readEmbeddedImage, type ImageManifest } from '../../src/db/embedded-image.js'
import { migrations } from '../../migrations/index.js'
import { pendingMigrations } from '../../src/db/migrator.js'

const dir = await mkdtemp(join(tmpdir(), 'ttn-image-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const image = join(dir, 'migrated')
const manifestFile = `${image}.json`

let manifest: ImageManifest

t.before(async () => {
  t.ok(await ensureEmbeddedImage(image), 'an image is made where there is none')
  t.notOk(await ensureEmbeddedImage(image), 'an image that fits the code is kept as it is')
  manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as ImageManifest
})

t.test('a fresh data folder starts from the image with every migration applied', async (t) => {
  const outcome = await readEmbeddedImage(image)
  t.same(outcome, { folder: image })
  let asked = 0
  const database = await openEmbedded({ dataDir: join(dir, 'fresh'), freshImage: async () => { asked++; return image } })
  t.teardown(() => database.close())
  t.same(await pendingMigrations(database.db), [], 'nothing left to migrate')
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(database.db)
  t.equal(rows[0]!.n, Object.keys(migrations).length)
  t.equal(asked, 1)
})

t.test('a folder that holds a database is opened as it is, without the image', async (t) => {
  let asked = 0
  const database = await openEmbedded({ dataDir: join(dir, 'fresh'), freshImage: async () => { asked++; return image } })
  t.teardown(() => database.close())
  t.equal(asked, 0)
})

t.test('an image is refused when its manifest does not fit the code or its files changed', async (t) => {
  t.teardown(() => writeFile(manifestFile, JSON.stringify(manifest)))
  const refusal = async (changed: ImageManifest) => {
    await writeFile(manifestFile, JSON.stringify(changed))
    const outcome = await readEmbeddedImage(image)
    return 'refused' in outcome ? outcome.refused : 'accepted'
  }
  const [first, ...rest] = manifest.migrations
  t.match(await refusal({ ...manifest, migrations: [{ ...first!, sha256: '0'.repeat(64) }, ...rest] }), `migration ${first!.name} has another checksum`)
  t.match(await refusal({ ...manifest, migrations: rest }), `lacks migration ${first!.name}`)
  t.match(await refusal({ ...manifest, migrations: [...manifest.migrations, { name: '9999-later', sha256: '0'.repeat(64) }] }), 'holds migration 9999-later')
  t.match(await refusal({ ...manifest, pglite: '0.0.1' }), 'made with PGlite 0.0.1')
  t.match(await refusal({ ...manifest, reference: '0'.repeat(64) }), 'made from other reference catalogues')
  t.match(await refusal({ ...manifest, image: '0'.repeat(64) }), 'is not the image its manifest describes')
  t.equal(await refusal(manifest), 'accepted')

  const versionFile = join(image, 'PG_VERSION')
  const version = await readFile(versionFile)
  t.teardown(() => writeFile(versionFile, version))
  await writeFile(versionFile, '14\n')
  t.match(await readEmbeddedImage(image), { refused: /is not the image its manifest describes/ }, 'a changed file is found')
})
