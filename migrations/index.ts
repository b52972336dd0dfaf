import type { Migration } from 'kysely'
import * as catalogue from './0001-catalogue.js'
import * as provinces from './0002-provinces.js'
import * as trust from './0003-trust.js'
import * as registry from './0004-registry.js'
import * as operations from './0007-operations.js'
import * as reports from './0008-reports.js'
import * as status from './0009-status.js'
import * as content from './0010-content.js'
import * as airtime from './0011-airtime.js'
import * as summaryIndexes from './0012-summary-indexes.js'
import * as broadcastLogOrder from './0013-broadcast-log-order.js'
import * as transparency from './0014-transparency.js'
import * as keyCustody from './0015-key-custody.js'
import * as communeCatalogue from './0016-commune-catalogue.js'
import * as reportPeriods from './0017-report-periods.js'
import * as clusterProgrammes from './0018-cluster-programmes.js'
import * as citizenFeedback from './0019-citizen-feedback.js'
import * as statusPeriods from './0020-status-periods.js'
import * as contentPlays from './0021-content-plays.js'
import * as summaryCounts from './0022-summary-counts.js'
import * as programmeCounts from './0023-programme-counts.js'
import * as webhookSenders from './0024-webhook-senders.js'
import * as contentTargets from './0025-content-targets.js'
import * as media from './0026-media.js'
import * as broadcastSchedules from './0027-broadcast-schedules.js'
import * as contentAlerts from './0028-content-alerts.js'
import * as contentLatency from './0029-content-latency.js'
import * as deviceStateTotals from './0030-device-state-totals.js'
import * as provinceDaysByDay from './0031-province-days-by-day.js'

/** Every migration in order; names are permanent once released. */
export const migrations: Record<string, Migration> = {
  '0001-catalogue': catalogue,
  '0002-provinces': provinces,
  '0003-trust': trust,
  '0004-registry': registry,
  '0007-operations': operations,
  '0008-reports': reports,
  '0009-status': status,
  '0010-content': content,
  '0011-airtime': airtime,
  '0012-summary-indexes': summaryIndexes,
  '0013-broadcast-log-order': broadcastLogOrder,
  '0014-transparency': transparency,
  '0015-key-custody': keyCustody,
  '0016-commune-catalogue': communeCatalogue,
  '0017-report-periods': reportPeriods,
  '0018-cluster-programmes': clusterProgrammes,
  '0019-citizen-feedback': citizenFeedback,
  '0020-status-periods': statusPeriods,
  '0021-content-plays': contentPlays,
  '0022-summary-counts': summaryCounts,
  '0023-programme-counts': programmeCounts,
  '0024-webhook-senders': webhookSenders,
  '0025-content-targets': contentTargets,
  '0026-media': media,
  '0027-broadcast-schedules': broadcastSchedules,
  '0028-content-alerts': contentAlerts,
  '0029-content-latency': contentLatency,
  '0030-device-state-totals': deviceStateTotals,
  '0031-province-days-by-day': provinceDaysByDay,
}
