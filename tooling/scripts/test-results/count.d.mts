export const RESULTS_ENV: 'SHMKIT_TEST_RESULTS';
export interface Suite {
  runner: 'vitest' | 'cargo';
  package: string;
  file: string;
}
export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  notes: string[];
}
export interface Check {
  name: string;
  status: number;
  onlyIfUnexplained?: boolean;
  counts?: boolean;
}
export function reportName(runner: 'vitest' | 'cargo', packageName: string): string;
export function expectedSuites(root: string): Suite[];
export function countVitest(report: unknown): Counts;
export function countCargo(output: string, status: number | null): Counts;
export function countSuite(dir: string, suite: Suite): Counts;
export function summarize(
  dir: string,
  suites: Suite[],
  checks?: Check[],
): { passed: number; failed: number; skipped: number; lines: string[]; closing: string };
