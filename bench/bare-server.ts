/**
 * A bare Fastify route in a process of its own: the ceiling for one small call on this machine
 * (HTTP parsing, routing, a small JSON answer). Used by bench/small-calls.ts only.
 */
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/bare', async () => ({ id: 'st-1', name: 'Đài truyền thanh', version: 1 }))
const address = await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`listening on ${address}\n`)
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
