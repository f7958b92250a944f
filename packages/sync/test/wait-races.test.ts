// Wake and abort racing on the default backend (io_uring here): see
// helpers/races.ts for the harness.
import { describe } from 'vitest';
import { raceTests } from './helpers/races';

describe('wake and abort racing', () => raceTests('io_uring'));
