import { Type } from 'typebox'
import { CalendarDate, Instant, Nullable, ProvinceCode, Strict, ref } from './common.js'

export const MAX_TREND_DAYS = 400

export const TrendDay = Strict({
  day: CalendarDate('The day, Vietnam time.'),
  upShare: Nullable(Type.Number({ minimum: 0, maximum: 1 }), {
    description: 'Share of the devices\' accounted time that day spent online, playing or idle (tỷ lệ thời gian hoạt động); null when no device was accounted.',
  }),
  airtimeHours: Type.Number({ minimum: 0, description: 'Airtime from broadcast logs started that day (số giờ phát sóng), without plays of exercises.' }),
  contentPlays: Type.Integer({ format: 'int32', minimum: 0, maximum: 2_147_483_647, description: 'Broadcast logs of essential content started that day (lượt phát thông tin thiết yếu), without exercises.' }),
  reportsSubmitted: Type.Integer({ format: 'int32', minimum: 0, maximum: 2_147_483_647, description: 'Report form versions submitted that day (báo cáo đã gửi).' }),
}, { $id: 'TrendDay', description: 'One day of a trend series.' })

export const TrendQuery = Strict({
  days: Type.Optional(Type.Integer({ format: 'int32', minimum: 1, maximum: MAX_TREND_DAYS, default: 90, description: `Days up to and including today (Vietnam time), 1 to ${MAX_TREND_DAYS}; 90 when not given.` })),
})

export const Trends = Strict({
  province: Nullable(ProvinceCode(), { description: 'The province, or null for the nation (toàn quốc).' }),
  generatedAt: Instant('When the series was computed; today is counted up to here.'),
  days: Type.Array(ref(TrendDay), { maxItems: MAX_TREND_DAYS, description: 'One item per day, oldest first, days without data included.' }),
}, { $id: 'Trends', description: 'Daily series for charts (biểu đồ xu hướng): online share, airtime, content played, reports submitted.' })

export const trendsComponents = [TrendDay, Trends]
