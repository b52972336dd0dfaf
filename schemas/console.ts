/** What the pages of `ttn console` take in their query strings. */
import { Type } from 'typebox'
import { ProvinceCode, Strict, StringEnum } from './common.js'

export const ConsoleLanguage = StringEnum(['vi', 'en'], { description: 'The language of the pages: `vi` (tiếng Việt, the default) or `en`; remembered once chosen.' })
export const ConsoleColour = StringEnum(['online', 'reports', 'emergency'], {
  description: 'What colours the map: the share of devices online, the report state of the current period, or the acknowledgement of the latest emergency.',
})

const language = { lang: Type.Optional(ConsoleLanguage) }

export const ConsolePageQuery = Strict(language)
export const ConsoleMapQuery = Strict({ ...language, colour: Type.Optional(ConsoleColour) })
export const ConsoleTrendsQuery = Strict({ ...language, province: Type.Optional(ProvinceCode('The province whose trends to show; the nation when not given (central).')) })
