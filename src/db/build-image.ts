import { EMBEDDED_IMAGE, ensureEmbeddedImage } from './embedded-image.js'

/** Part of the build: makes the migrated image of the embedded database when the migrations changed. */
if (await ensureEmbeddedImage()) process.stdout.write(`made the migrated embedded database image ${EMBEDDED_IMAGE}\n`)
