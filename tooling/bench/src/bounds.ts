// Floors and ceilings: rows that nothing compared to them can beat. A row
// that does beat one proves the bound wrong (it measures something else, or
// the run was too noisy to tell); it is reported that way, never as a win.
import type { Row } from './registry.js';

/** Whether `ratio` (row / bound) is better than a floor or ceiling allows. */
export function beatsBound(bound: Row['bound'], ratio: number): boolean {
  return bound === 'floor' ? ratio < 1 : bound === 'ceiling' ? ratio > 1 : false;
}

/** What the report says about a row that beat its bound. */
export function boundWarning(bound: 'floor' | 'ceiling', ratio: number): string {
  return `better than its ${bound} (${ratio.toFixed(3)}x): the ${bound} is wrong or the run too noisy, so this is no result`;
}
