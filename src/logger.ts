import pino, { type Logger } from 'pino'
import type { Config } from './config.js'

/**
 * Readable lines for a person at a terminal; JSON lines wherever a machine reads them (systemd,
 * docker, a log shipper), where standard output is not a terminal. LOG_PRETTY decides when set.
 */
export const prettyLogs = (setting: boolean | undefined, stdoutIsTerminal: boolean): boolean => setting ?? stdoutIsTerminal

/** The service's logger. Tokens and keys never reach a log line. */
export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'LOG_PRETTY'>, stdoutIsTerminal = process.stdout.isTTY === true): Logger {
  return pino({
    level: config.LOG_LEVEL,
    redact: { paths: ['req.headers.authorization', '*.headers.authorization', '*.privateKey', '*.d'], censor: '[redacted]' },
    ...(prettyLogs(config.LOG_PRETTY, stdoutIsTerminal) ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard' } } } : {}),
  })
}
