import type { Static } from 'typebox'
import type { CrossCheckWarning, IndicatorsForm } from '../../../schemas/reports.js'
import type { ObservedFigures } from './store.js'

type Warning = Static<typeof CrossCheckWarning>

/**
 * Compares the indicators a province reports with what it registered, its devices reported and
 * its broadcast logs recorded here; a difference is a warning for the people reviewing the
 * report, never a reason to refuse it.
 */
export function crossCheckIndicators(form: IndicatorsForm, observed: ObservedFigures): Warning[] {
  const comparisons: [string, number, number, string][] = [
    ['/stations/wired', form.stations.wired, observed.stations.wired ?? 0, 'wired stations'],
    ['/stations/fm', form.stations.fm, observed.stations.fm ?? 0, 'FM stations'],
    ['/stations/wiredFm', form.stations.wiredFm, observed.stations.wired_fm ?? 0, 'wired and FM stations'],
    ['/stations/ip', form.stations.ip, observed.stations.ip ?? 0, 'IT–telecom stations'],
    ['/clusters/ip', form.clusters.ip, observed.clusters.ip ?? 0, 'IT–telecom clusters'],
    ['/clusters/fm', form.clusters.fm, observed.clusters.fm ?? 0, 'FM clusters'],
    ['/clusters/wired', form.clusters.wired, observed.clusters.wired ?? 0, 'wired clusters'],
    ['/bulletinBoards', form.bulletinBoards, observed.boards, 'public electronic bulletin boards'],
  ]
  const warnings: Warning[] = comparisons
    .filter(([, reported, seen]) => reported !== seen)
    .map(([pointer, reported, seen, what]) => ({
      pointer, reported, observed: seen,
      message: `reported ${reported} ${what}; the registry holds ${seen} in service`,
    }))
  if (form.informationWorkers.trained > form.informationWorkers.total) {
    warnings.push({ pointer: '/informationWorkers/trained', reported: form.informationWorkers.trained, observed: form.informationWorkers.total, message: 'more workers trained than there are workers' })
  }
  if (form.stations.ip > 0 && observed.ipStationsSilent > 0) {
    warnings.push({
      pointer: '/stations/ip', reported: form.stations.ip, observed: observed.ipStationsSilent,
      message: `${observed.ipStationsSilent} of the IT–telecom stations registered in service never reported their device status`,
    })
  }
  // Logs may not cover every station, so only fewer hours than they record is suspicious.
  if (observed.loggedAirtimeHours !== null && form.bulletins.airtimeHours < observed.loggedAirtimeHours) {
    warnings.push({
      pointer: '/bulletins/airtimeHours', reported: form.bulletins.airtimeHours, observed: observed.loggedAirtimeHours,
      message: `reported ${form.bulletins.airtimeHours} hours of airtime; the broadcast logs record ${observed.loggedAirtimeHours} hours in the period`,
    })
  }
  return warnings
}
