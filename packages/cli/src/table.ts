// Aligned text tables that fit the terminal (80 columns when piped).
import { paint, visibleWidth, type Style } from './io';

/** One column of a table. */
export interface Column<Row> {
  readonly header: string;
  readonly align?: 'left' | 'right';
  /**
   * The narrowest this column may get when the table is too wide; cells are
   * cut with '…'. Columns without it never shrink.
   */
  readonly shrinkTo?: number;
  /**
   * Shrink this column before the others (details before identifiers) down
   * to this width, and below it only once the others are at their floors.
   */
  readonly shrinkFirstTo?: number;
  readonly cell: (row: Row) => string;
  readonly style?: (row: Row) => Style | undefined;
}

/** How a table is laid out. */
export interface TableOptions {
  /** Columns available; the table shrinks its flexible columns to fit. */
  readonly width: number;
  readonly color: boolean;
  /** Never shrink: show every cell whole, however wide the table gets. */
  readonly wide?: boolean;
}

const GAP = 2;

/** Cuts `text` to `width` columns, marking the cut with '…'. */
export function truncate(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 1 ? chars.slice(0, width).join('') : `${chars.slice(0, width - 1).join('')}…`;
}

/** The widths the columns get: natural widths, shrunk to fit (the shrinkFirstTo ones, then the widest). */
function layout<Row>(
  rows: readonly Row[],
  columns: readonly Column<Row>[],
  options: TableOptions,
): number[] {
  const widths = columns.map((column) =>
    Math.max(visibleWidth(column.header), ...rows.map((row) => visibleWidth(column.cell(row)))),
  );
  if (options.wide) return widths;
  const total = () => widths.reduce((sum, w) => sum + w, 0) + GAP * (columns.length - 1);
  while (total() > options.width) {
    let widest = -1;
    const first = columns.map((column) => column.shrinkFirstTo);
    // 2: a shrinkFirstTo column above that width; 1: the others; 0: a
    // shrinkFirstTo column at or below it, last to give up more.
    const rank = (i: number) => (first[i] === undefined ? 1 : widths[i]! > first[i]! ? 2 : 0);
    columns.forEach((column, i) => {
      const floor = Math.max(column.shrinkTo ?? Infinity, visibleWidth(column.header));
      if (widths[i]! <= floor) return;
      if (
        widest < 0 ||
        rank(i) > rank(widest) ||
        (rank(i) === rank(widest) && widths[i]! > widths[widest]!)
      )
        widest = i;
    });
    if (widest < 0) break; // every flexible column is at its floor
    widths[widest]! -= 1;
  }
  return widths;
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const space = ' '.repeat(Math.max(0, width - visibleWidth(text)));
  return align === 'right' ? space + text : text + space;
}

/** The table as lines: a header, then one line per row, no trailing spaces. */
export function renderTable<Row>(
  rows: readonly Row[],
  columns: readonly Column<Row>[],
  options: TableOptions,
): string[] {
  const widths = layout(rows, columns, options);
  const line = (cells: string[]) => cells.join(' '.repeat(GAP)).trimEnd();
  const header = line(
    columns.map((column, i) =>
      paint(options.color, 'bold', pad(column.header, widths[i]!, column.align ?? 'left')),
    ),
  );
  const body = rows.map((row) =>
    line(
      columns.map((column, i) => {
        const text = truncate(column.cell(row), widths[i]!);
        return pad(
          paint(options.color, column.style?.(row), text),
          widths[i]!,
          column.align ?? 'left',
        );
      }),
    ),
  );
  return [header, ...body];
}

/**
 * `label  value` lines with the labels aligned, for `inspect` and
 * `limits`. A value with newlines continues under its first line.
 */
export function renderFields(
  fields: ReadonlyArray<readonly [label: string, value: string]>,
  indent = '  ',
): string[] {
  const width = Math.max(0, ...fields.map(([label]) => label.length));
  const lines: string[] = [];
  for (const [label, value] of fields) {
    const [first = '', ...more] = value.split('\n');
    lines.push(`${indent}${label.padEnd(width)}  ${first}`.trimEnd());
    for (const rest of more) lines.push(`${indent}${' '.repeat(width)}  ${rest}`.trimEnd());
  }
  return lines;
}

/** Breaks `text` into lines of at most `width` columns at spaces. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (current === '') current = word;
    else if (current.length + 1 + word.length <= width) current += ` ${word}`;
    else {
      lines.push(current);
      current = word;
    }
  }
  if (current !== '') lines.push(current);
  return lines;
}
