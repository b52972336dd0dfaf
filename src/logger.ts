import pino, { type Logger } from 'pino'
import type { Config } from './config.js'

/**
 * Readable lines for a person at a terminal; JSON lines wherever a machine reads them (systemd,
 * docker, a log shipper), where standard output is not a terminal. LOG_PRETTY decides when set.
 */
export const prettyLogs = (setting: boolean | undefined, stdoutIsTerminal: boolean): boolean => setting ?? stdoutIsTerminal

/**
 * The service's logger. Tokens and keys never reach a log line. JSON lines are written
 * asynchronously: a write to standard output per line, twice per request, was a tenth of a
 * small call's cost; lines written while one write is under way go out together with the next,
 * and whatever is still buffered is flushed when the process exits (a SIGKILL can lose the last
 * milliseconds of lines, never an audit entry, which lives in the database).
 */
export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'LOG_PRETTY'>, stdoutIsTerminal = process.stdout.isTTY === true): Logger {
  const options = {
    level: config.LOG_LEVEL,
    redact: { paths: ['req.headers.authorization', '*.headers.authorization', '*.privateKey', '*.d'], censor: '[redacted]' },
  }
  if (prettyLogs(config.LOG_PRETTY, stdoutIsTerminal)) return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard' } } })
  return pino(options, pino.destination({ dest: 1, sync: false }))
}
