import pino, { type Logger } from 'pino'
import type { Config } from './config.js'

/** JSON lines for machines; pretty only when asked. Tokens and keys never reach a log line. */
export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'LOG_PRETTY'>): Logger {
  return pino({
    level: config.LOG_LEVEL,
    redact: { paths: ['req.headers.authorization', '*.headers.authorization', '*.privateKey', '*.d'], censor: '[redacted]' },
    ...(config.LOG_PRETTY ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard' } } } : {}),
  })
}
