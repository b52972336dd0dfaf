import { readFileSync } from 'node:fs'
import type { SwaggerOptions } from '@fastify/swagger'
import { projectPath } from './paths.js'

const { version } = JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }

const description = `
The interoperability API between Vietnam's central source-information system (Hệ thống thông tin nguồn trung ương)
and the 34 provincial source-information systems (Hệ thống thông tin nguồn cấp tỉnh).

Provinces push their commune radio stations, loudspeaker clusters, bulletin boards, device status, broadcast logs and
periodic reports; central publishes essential content and reads national summaries.

**Errors** are RFC 9457 problem documents (\`application/problem+json\`) with a stable \`code\`; \`GET /problems\` lists them.
Unknown fields in bodies and queries are refused. Lists page by opaque cursor with \`limit\` at most 1000.
`.trim()

export const openApiDocument: SwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: { title: 'ttn-interop', version, description },
    tags: [
      { name: 'health', description: 'Liveness and readiness for load balancers and orchestrators.' },
      { name: 'catalogue', description: 'Administrative units (đơn vị hành chính): provinces and commune-level units, before and after the 2025 reorganisation.' },
      { name: 'problems', description: 'The problem types errors refer to.' },
    ],
  },
  refResolver: {
    buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
  },
  convertConstToEnum: false,
}

/**
 * The contract as the code declares it. Building it needs the routes, not data, so the app
 * is given a PostgreSQL pool that is never connected.
 */
export async function generateOpenApi(): Promise<string> {
  const { buildApp } = await import('./app.js')
  const { loadConfig } = await import('./config.js')
  const { openPostgres } = await import('./db/database.js')
  const database = openPostgres({ url: 'postgresql://contract-only.invalid/none' })
  const app = await buildApp({ config: loadConfig({}), database })
  try {
    await app.ready()
    return JSON.stringify(app.swagger(), null, 2) + '\n'
  } finally {
    await app.close()
    await database.close()
  }
}
