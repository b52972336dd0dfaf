/**
 * Where each of the 34 provinces of 2025 sits on the tile map: row and column of a grid that
 * roughly follows the country's shape, north to south. The order of this list is the reading
 * and keyboard order of the tiles.
 */
export const TILE_GRID = { rows: 16, columns: 5 }

export const TILES: readonly { code: string, row: number, column: number }[] = [
  { code: '12', row: 1, column: 2 }, { code: '15', row: 1, column: 3 }, { code: '08', row: 1, column: 4 }, { code: '04', row: 1, column: 5 },
  { code: '11', row: 2, column: 1 }, { code: '14', row: 2, column: 2 }, { code: '25', row: 2, column: 3 }, { code: '19', row: 2, column: 4 }, { code: '20', row: 2, column: 5 },
  { code: '01', row: 3, column: 3 }, { code: '24', row: 3, column: 4 }, { code: '22', row: 3, column: 5 },
  { code: '37', row: 4, column: 3 }, { code: '33', row: 4, column: 4 }, { code: '31', row: 4, column: 5 },
  { code: '38', row: 5, column: 3 },
  { code: '40', row: 6, column: 3 },
  { code: '42', row: 7, column: 4 },
  { code: '44', row: 8, column: 4 },
  { code: '46', row: 9, column: 4 }, { code: '48', row: 9, column: 5 },
  { code: '51', row: 10, column: 5 },
  { code: '52', row: 11, column: 5 },
  { code: '66', row: 12, column: 4 }, { code: '56', row: 12, column: 5 },
  { code: '68', row: 13, column: 4 },
  { code: '80', row: 14, column: 2 }, { code: '79', row: 14, column: 3 }, { code: '75', row: 14, column: 4 },
  { code: '91', row: 15, column: 1 }, { code: '82', row: 15, column: 2 }, { code: '86', row: 15, column: 3 },
  { code: '96', row: 16, column: 1 }, { code: '92', row: 16, column: 2 },
]
