// Wake and abort racing on the backends used where io_uring cannot wait on
// futexes: see helpers/races.ts for the harness.
import { describe } from 'vitest';
import { raceTests } from './helpers/races';

describe('wake and abort racing (futex_waitv)', () => raceTests('futex_waitv'));
describe('wake and abort racing (pool)', () => raceTests('pool'));
