import { setFlagsFromString } from 'node:v8'
import { PGlite } from '@electric-sql/pglite'

/**
 * How the embedded database runs. PostgreSQL's default 128 MB of shared buffers is all
 * written at start inside PGlite's memory, so it counted whole in the process's resident
 * memory; an embedded database serves one process and fits in far less.
 */
export const EMBEDDED_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=4MB']

/**
 * V8 compiles WebAssembly twice: quick baseline code first, then optimised code for the
 * functions that run often. For PGlite's engine the optimised copies came to about 50 MB of
 * an idle process's resident memory and took CPU from serving while they were made. The
 * service on the embedded database keeps the baseline code; the flag holds for the whole process,
 * for engines compiled after it.
 */
export function keepBaselineWasmCode(): void {
  setFlagsFromString('--liftoff-only')
}
