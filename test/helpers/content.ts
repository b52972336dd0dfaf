/** A valid publication, changed by `overrides`. */
export const bulletin = (overrides: Record<string, unknown> = {}) => ({
  title: 'Cảnh báo mưa lớn', summary: 'Mưa lớn diện rộng', body: 'Đề nghị nhân dân chủ động phòng tránh.',
  media: [{ url: 'https://media.example.vn/a.mp3', sha256: 'a'.repeat(64), mimeType: 'audio/mpeg', bytes: 120_000, durationSeconds: 95 }],
  topic: 'disasters-fire-epidemics', priority: 'normal', targets: ['79'], ...overrides,
})
