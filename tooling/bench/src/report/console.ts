// What a bench run prints on stdout: the table of rows and the targets.
import { formatNs, formatRatio, formatValue } from '../format.js';
import type { Row } from '../registry.js';
import type { TargetResult } from '../targets.js';

export function printTable(rows: Row[]): void {
  const lines: string[][] = [['case', 'median', 'p99', 'ratio', 'vs', 'note']];
  for (const r of rows) {
    lines.push([
      r.id,
      r.status === 'pending'
        ? 'pending'
        : r.status === 'failed'
          ? 'FAILED'
          : formatValue(r.value, r.unit),
      r.p99 === undefined ? '' : formatNs(r.p99),
      formatRatio(r.ratio),
      r.baseline ?? '',
      (r.status === 'provisional' ? '[provisional] ' : '') + (r.note ?? ''),
    ]);
  }
  const widths = lines[0]?.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length))) ?? [];
  for (const l of lines) {
    const text = l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
    process.stdout.write(`${text.length > 200 ? `${text.slice(0, 197)}...` : text}\n`);
  }
}

/** The table, the targets and the closing count line. */
export function printSummary(rows: Row[], targets: TargetResult[], durationMs: number): void {
  process.stdout.write('\n');
  printTable(rows);
  process.stdout.write('\nTargets:\n');
  for (const t of targets) {
    process.stdout.write(
      `  ${t.status.padEnd(12)} ${t.target}${t.ratio === undefined ? '' : `: ${formatRatio(t.ratio)}`} ${t.measured}` +
        `${t.detail === '' || t.status === 'not measured' ? '' : `; ${t.detail}`}\n`,
    );
  }
  process.stdout.write(`\n${rows.length} cases in ${(durationMs / 1000).toFixed(1)} s\n`);
}
