/** A small province's indicators form (Phụ lục 01) that agrees with a registry of two stations and two IP clusters. */
export const smallProvinceIndicators = {
  stations: { wired: 1, fm: 0, wiredFm: 0, ip: 1 },
  clusters: { ip: 2, fm: 0, wired: 0 },
  investment: { newStations: 0, clustersReplaced: 0, clustersAddedToVillages: 0 },
  bulletinBoards: 1,
  informationWorkers: { total: 10, trained: 5 },
  bulletins: { produced: 10, aired: 10, airtimeHours: 12 },
  fundingMillionVnd: { newRuralDevelopment: 0, sustainablePovertyReduction: 0, localBudget: 10, other: 0 },
}

/** Province 79's indicators form, with any field replaced. */
export const hcmIndicators = (overrides: Record<string, unknown> = {}) => ({
  stations: { wired: 0, fm: 0, wiredFm: 0, ip: 2 },
  clusters: { ip: 3, fm: 0, wired: 0 },
  investment: { newStations: 1, clustersReplaced: 0, clustersAddedToVillages: 2 },
  bulletinBoards: 1,
  informationWorkers: { total: 120, trained: 40 },
  bulletins: { produced: 300, aired: 320, airtimeHours: 410.5 },
  fundingMillionVnd: { newRuralDevelopment: 1200, sustainablePovertyReduction: 300, localBudget: 450.5, other: 0 },
  ...overrides,
})
