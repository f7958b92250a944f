// Hand-written horizontal bar charts, one per case group. Latency groups
// spanning orders of magnitude use a log scale (said in the axis caption).
import { formatValue } from '../format.js';
import type { Row, Unit } from '../registry.js';

const WIDTH = 940;
const LABEL = 440;
const BAR_AREA = 360;
const ROW_H = 26;
const TOP = 44;

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/`/g, '');
}

/** An SVG bar chart of `rows` (all of one unit); pending rows get a label instead of a bar. */
export function barChart(title: string, rows: Row[], unit: Unit): string {
  const values = rows.map((r) => r.value).filter((v): v is number => v !== undefined && v > 0);
  const max = Math.max(...values, 1e-9);
  const min = Math.min(...values, max);
  const log = unit === 'ns' && max / min > 30;
  const lo = log ? Math.pow(10, Math.floor(Math.log10(min))) : 0;
  const scale = (v: number): number =>
    log
      ? (Math.log10(v / lo) / Math.log10((max * 1.05) / lo)) * BAR_AREA
      : (v / (max * 1.05)) * BAR_AREA;
  const height = TOP + rows.length * ROW_H + 34;
  const caption =
    (unit === 'ns' ? 'time, lower is better' : 'GB/s, higher is better') +
    (log ? ' (log scale)' : '');
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="16" font-weight="600" fill="#111">${escape(title)}</text>`,
  ];
  rows.forEach((row, i) => {
    const y = TOP + i * ROW_H;
    const shmkit =
      row.id.startsWith('sync.') ||
      row.id.includes('shmkit') ||
      row.id.startsWith('map.') ||
      row.id.startsWith('scan.mmap') ||
      row.id.startsWith('wait-rtt.') ||
      row.id.startsWith('pending');
    const colour = row.status === 'provisional' ? '#f0a43a' : shmkit ? '#2f6fdf' : '#8a8f98';
    const label = row.title.length > 62 ? `${row.title.slice(0, 61)}…` : row.title;
    out.push(
      `<text x="${LABEL - 8}" y="${y + 17}" text-anchor="end" fill="#222">${escape(label)}</text>`,
    );
    if (row.value === undefined) {
      const label = row.status === 'pending' ? 'pending @shmkit/sync' : row.status;
      out.push(
        `<text x="${LABEL + 4}" y="${y + 17}" fill="#999" font-style="italic">${escape(label)}</text>`,
      );
      return;
    }
    const w = Math.max(2, scale(row.value));
    out.push(
      `<rect x="${LABEL}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW_H - 8}" rx="2" fill="${colour}"/>`,
    );
    out.push(
      `<text x="${(LABEL + w + 6).toFixed(1)}" y="${y + 17}" fill="#111">${escape(formatValue(row.value, unit))}</text>`,
    );
  });
  const legendY = height - 12;
  out.push(`<text x="${LABEL}" y="${legendY}" fill="#666" font-size="11">${caption}</text>`);
  out.push(
    `<rect x="12" y="${legendY - 9}" width="10" height="10" fill="#2f6fdf"/><text x="26" y="${legendY}" fill="#666" font-size="11">shmkit</text>`,
  );
  out.push(
    `<rect x="80" y="${legendY - 9}" width="10" height="10" fill="#8a8f98"/><text x="94" y="${legendY}" fill="#666" font-size="11">baseline</text>`,
  );
  out.push(
    `<rect x="160" y="${legendY - 9}" width="10" height="10" fill="#f0a43a"/><text x="174" y="${legendY}" fill="#666" font-size="11">stand-in</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
