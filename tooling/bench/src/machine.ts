// The machine a run was measured on, for the report.
import { execSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  node: string;
  memoryGiB: number;
  /** 1-minute load average when the run started: other work on the box skews results. */
  loadAverage: number;
  commit: string;
  date: string;
}

export function describeMachine(): Machine {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    // not a git checkout
  }
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    kernel: `Linux ${release()}`,
    node: process.version,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    loadAverage: loadavg()[0] ?? 0,
    commit,
    date: new Date().toISOString(),
  };
}
