// Where a command's output goes: data on stdout, diagnostics on stderr,
// colour only where a person reads it, and a closed pipe (`| head`) ends
// the output quietly instead of crashing with EPIPE.

/** The streams and environment a command runs with (process's by default). */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Whether to colour a stream, the way Node's own `tty.hasColors()` decides:
 * FORCE_COLOR wins ('0' or 'false' turns colour off, anything else on),
 * then NO_COLOR or NODE_DISABLE_COLORS turn it off, then a TTY whose TERM
 * is not 'dumb' turns it on.
 */
export function wantsColor(isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.NODE_DISABLE_COLORS !== undefined && env.NODE_DISABLE_COLORS !== '') return false;
  return isTTY && env.TERM !== 'dumb';
}

const STYLES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;

/** A text style a table cell or message may ask for. */
export type Style = keyof typeof STYLES;

/** Wraps `text` in the ANSI codes of `style`, or returns it as is without colour. */
export function paint(color: boolean, style: Style | undefined, text: string): string {
  if (!color || style === undefined || text === '') return text;
  const [on, off] = STYLES[style];
  return `\u001b[${on}m${text}\u001b[${off}m`;
}

/** The visible width of `text`: without ANSI codes, one column per code point. */
export function visibleWidth(text: string): number {
  // eslint-disable-next-line no-control-regex -- matching ANSI escapes is the point
  return [...text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')].length;
}

/** A stream for one kind of output, with its colour and width settled once. */
export class Output {
  readonly color: boolean;
  readonly width: number;
  readonly isTTY: boolean;
  #closed = false;
  readonly #stream: NodeJS.WritableStream;

  constructor(
    stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    env: NodeJS.ProcessEnv,
  ) {
    this.#stream = stream;
    this.isTTY = stream.isTTY === true;
    this.color = wantsColor(this.isTTY, env);
    const columns = this.isTTY ? stream.columns : Number(env.COLUMNS);
    this.width = columns !== undefined && Number.isInteger(columns) && columns >= 20 ? columns : 80;
    // A reader that went away (`| head`) is the end of the output, not an
    // error: stop writing. Anything else is reported where it can be.
    stream.on('error', (error: NodeJS.ErrnoException) => {
      this.#closed = true;
      if (error.code !== 'EPIPE') process.exitCode = 1;
    });
  }

  /** True once the reader has gone; writes are then dropped. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Writes `text`; false once the reader has gone. */
  write(text: string): boolean {
    if (this.#closed) return false;
    try {
      this.#stream.write(text);
    } catch {
      this.#closed = true;
    }
    return !this.#closed;
  }

  /** Writes `text` and a newline. */
  line(text = ''): boolean {
    return this.write(`${text}\n`);
  }

  /** `text` in `style`, if this stream is coloured. */
  paint(style: Style | undefined, text: string): string {
    return paint(this.color, style, text);
  }

  /** Resolves once everything written so far has been handed to the OS. */
  flush(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#stream.write('', () => resolve());
    });
  }
}
