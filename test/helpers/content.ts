/** A valid publication, changed by `overrides`. */
export const bulletin = (overrides: Record<string, unknown> = {}) => ({
  title: 'Cảnh báo mưa lớn', summary: 'Mưa lớn diện rộng', body: 'Đề nghị nhân dân chủ động phòng tránh.',
  topic: 'disasters-fire-epidemics', priority: 'normal', targets: ['79'], ...overrides,
})
