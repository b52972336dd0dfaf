import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely } from 'kysely'
import { PGliteDialect } from 'kysely-pglite-dialect'
import { migrations } from '../../migrations/index.js'
import { projectPath } from '../paths.js'
import { EMBEDDED_START_PARAMS } from './embedded-params.js'
import { migrateToLatest } from './migrator.js'
import type { Tables } from './tables.js'

/**
 * A data folder of the embedded database with every migration applied, made at build time.
 * A fresh DATA_DIR starts from it instead of running initdb and the migrations in the
 * process that then serves: initdb alone took seconds and left hundreds of megabytes of
 * memory behind. The image is used only when its manifest names exactly the migrations this
 * code holds, each with the same checksum, made from the same reference catalogues and the
 * same PGlite; then the migrator runs as on any folder and finds nothing to do.
 */
export const EMBEDDED_IMAGE = projectPath('dist', 'embedded', 'migrated')

export interface ImageManifest {
  pglite: string
  migrations: { name: string, sha256: string }[]
  /** SHA-256 over reference/, the catalogues the migrations load. */
  reference: string
  /** SHA-256 over the image's files, so a truncated or altered image is refused too. */
  image: string
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')
const manifestFile = (image: string) => `${image}.json`

/** One hash over every file of a folder: each one's path and bytes, in path order. */
async function folderHash(folder: string): Promise<string | undefined> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => undefined)
  if (!entries) return undefined
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name)).sort()
  const hash = createHash('sha256')
  for (const file of files) {
    const bytes = await readFile(file)
    hash.update(`${relative(folder, file)}\0${bytes.length}\0`).update(bytes)
  }
  return hash.digest('hex')
}

/**
 * Each migration by name with a checksum of its code as it runs: editing a released migration
 * changes it, and so does running the sources through another compiler than the build's
 * (tests through tsx make images of their own).
 */
export function migrationChecksums(): ImageManifest['migrations'] {
  return Object.entries(migrations).map(([name, migration]) => ({
    name,
    sha256: sha256(`${name}\0${String(migration.up)}\0${String(migration.down ?? '')}`),
  }))
}

/** The package exports no package.json; its entry point sits in dist/ beside it. */
function pgliteVersion(): string {
  const require = createRequire(import.meta.url)
  return (require(join(dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json')) as { version: string }).version
}

/** Why an image's manifest does not fit this code, or undefined when it does (the image's own hash is checked apart). */
export async function manifestMismatch(manifest: ImageManifest): Promise<string | undefined> {
  if (manifest.pglite !== pgliteVersion()) return `it was made with PGlite ${manifest.pglite}, not ${pgliteVersion()}`
  const expected = migrationChecksums()
  const found = new Map(manifest.migrations.map((m) => [m.name, m.sha256]))
  for (const { name, sha256: checksum } of expected) {
    if (!found.has(name)) return `it lacks migration ${name}`
    if (found.get(name) !== checksum) return `its migration ${name} has another checksum`
  }
  const unknown = manifest.migrations.find((m) => !expected.some((e) => e.name === m.name))
  if (unknown) return `it holds migration ${unknown.name}, which this code does not know`
  if (manifest.reference !== await folderHash(projectPath('reference'))) return 'it was made from other reference catalogues'
  return undefined
}

export type ImageOutcome = { folder: string } | { refused: string }

/** The data folder to copy into a fresh DATA_DIR, or why it cannot be used. */
export async function readEmbeddedImage(folder = EMBEDDED_IMAGE): Promise<ImageOutcome> {
  const manifest = await readFile(manifestFile(folder), 'utf8').then((text) => JSON.parse(text) as ImageManifest, () => undefined)
  if (!manifest) return { refused: `there is no image at ${folder}` }
  const mismatch = await manifestMismatch(manifest)
  if (mismatch) return { refused: mismatch }
  if (await folderHash(folder) !== manifest.image) return { refused: `${folder} is not the image its manifest describes` }
  return { folder }
}

/** The image's folder when it can be used, for `openEmbedded`'s `freshImage`; else undefined, after telling why. */
export async function usableImage(onRefused: (reason: string) => void = () => {}): Promise<string | undefined> {
  const outcome = await readEmbeddedImage()
  if ('folder' in outcome) return outcome.folder
  onRefused(outcome.refused)
  return undefined
}

/** Makes the image unless the one in place already fits this code; answers whether it made one. */
export async function ensureEmbeddedImage(folder = EMBEDDED_IMAGE): Promise<boolean> {
  if ('folder' in await readEmbeddedImage(folder)) return false
  const partial = `${folder}.partial`
  await rm(partial, { recursive: true, force: true })
  await mkdir(dirname(folder), { recursive: true })
  const pglite = await PGlite.create({ dataDir: partial, startParams: EMBEDDED_START_PARAMS })
  const db = new Kysely<Tables>({ dialect: new PGliteDialect(pglite) })
  await migrateToLatest(db)
  await db.destroy()
  if (!pglite.closed) await pglite.close()
  // The folder first, its manifest last: a build cut short leaves no manifest naming a partial image.
  await rm(manifestFile(folder), { force: true })
  await rm(folder, { recursive: true, force: true })
  await rename(partial, folder)
  const made: ImageManifest = {
    pglite: pgliteVersion(), migrations: migrationChecksums(), reference: (await folderHash(projectPath('reference')))!, image: (await folderHash(folder))!,
  }
  await writeFile(manifestFile(folder), JSON.stringify(made, null, 2) + '\n')
  return true
}
