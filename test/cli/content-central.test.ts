import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { ttn } from '../helpers/cli.js'
import { cliTestbed } from '../helpers/cli-caller.js'
import { bulletin } from '../helpers/content.js'
import { sha256Hex, wav } from '../helpers/media.js'
import { signedInject } from '../helpers/systems.js'

const { dir, app, central, hcm } = await cliTestbed(t, 'content-central')

t.test('ttn content publishes with media uploaded first, then reads, lists, versions, follows deliveries and withdraws', async (t) => {
  const file = join(dir, 'bulletin.json')
  await writeFile(file, JSON.stringify(bulletin({ title: 'Cảnh báo lũ quét' })))
  const audio = wav(0.5)
  const audioFile = join(dir, 'ban-tin.wav')
  await writeFile(audioFile, audio)
  const published = await ttn(['content', 'publish', file, '--media', audioFile], central.env)
  t.equal(published.code, 0, published.stderr)
  const { content } = JSON.parse(published.stdout) as { content: { id: string, version: number, media: { sha256: string, mimeType: string }[] } }
  t.match(content, { version: 1, media: [{ sha256: sha256Hex(audio), mimeType: /^audio\// }] }, 'the uploaded file is attached by its hash')
  t.match(published.stderr, `${audioFile}: stored as ${sha256Hex(audio)}`)

  const got = await ttn(['content', 'get', content.id], central.env)
  t.equal(got.code, 0, got.stderr)
  t.match(JSON.parse(got.stdout), { id: content.id, title: 'Cảnh báo lũ quét', status: 'active' })

  await writeFile(file, JSON.stringify(bulletin({ title: 'Cảnh báo lũ quét (cập nhật)', media: [{ sha256: sha256Hex(audio) }] })))
  const updated = await ttn(['content', 'update', content.id, file], central.env)
  t.equal(updated.code, 0, updated.stderr)
  t.match(JSON.parse(updated.stdout), { content: { id: content.id, version: 2, title: 'Cảnh báo lũ quét (cập nhật)' } })

  await signedInject(app, hcm, { method: 'POST', url: `/v2/contents/${content.id}/acks`, body: { receivedAt: new Date().toISOString() } })
  const deliveries = await ttn(['content', 'deliveries', content.id], central.env)
  t.equal(deliveries.code, 0, deliveries.stderr)
  const [header, row] = deliveries.stdout.trim().split('\n')
  t.match(header, /^province\s+system\s+webhook\s+notifications\s+acknowledged$/)
  t.match(row, /^79\s+\S+\s+none\s+\d+\s+\d{4}-\d\d-\d\dT/, 'province 79 acknowledged, without a webhook')
  const asJson = JSON.parse((await ttn(['content', 'deliveries', content.id, '--json'], central.env)).stdout)
  t.match(asJson, { contentId: content.id, provinces: [{ province: '79', webhook: 'none' }] })

  const withdrawn = await ttn(['content', 'withdraw', content.id, '--reason', 'Hết nguy cơ lũ'], central.env)
  t.equal(withdrawn.code, 0, withdrawn.stderr)
  t.match(JSON.parse(withdrawn.stdout), { content: { id: content.id, status: 'withdrawn', version: 3 } })

  const listed = await ttn(['content', 'list', '--status', 'withdrawn'], central.env)
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, new RegExp(`^id\\s+version\\s+status.*\\n${content.id}\\s+3\\s+withdrawn\\s+normal\\s+disasters-fire-epidemics\\s+\\S+\\s+Cảnh báo lũ quét \\(cập nhật\\)\\n$`))
  const listedJson = JSON.parse((await ttn(['content', 'list', '--json'], central.env)).stdout) as { id: string }[]
  t.same(listedJson.map((item) => item.id), [content.id])
  const bad = await ttn(['content', 'list', '--status', 'gone'], central.env)
  t.equal(bad.code, 1)
  t.match(bad.stderr, /Allowed choices are active, withdrawn/, 'a wrong choice is named with the allowed values')
})
