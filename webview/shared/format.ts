// Number formatting the pages share: src/core/format.ts (also the host's: status bar, Runs view, CLI)
// and the fixed-digit form of a table cell.
export { formatDuration, formatNumber, formatTicks, formatWhen } from '../../src/core/format';

/** `x` with `digits` decimals; '–' for a missing or non-finite value. */
export const fixed = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));
