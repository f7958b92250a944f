// shmkit watch: the ls table, redrawn in place every interval, until q or
// Ctrl-C; the terminal is given back as it was (main screen, cursor, cooked
// mode) however the command ends.
import { parse, seconds, wantsHelp } from '../args';
import { CommandError, EXIT_OK } from '../errors';
import { plural } from '../format';
import { takeInventory } from '../sources/inventory';
import { truncate } from '../table';
import type { Command, Context } from './context';
import { lsTable, select, selection, SELECT_HELP, SELECT_OPTIONS } from './ls';

const ALT_SCREEN_ON = '\u001b[?1049h';
const ALT_SCREEN_OFF = '\u001b[?1049l';
const CURSOR_HIDE = '\u001b[?25l';
const CURSOR_SHOW = '\u001b[?25h';
const HOME = '\u001b[H';
const CLEAR_LINE = '\u001b[K';
const CLEAR_BELOW = '\u001b[J';

const HELP = `Usage: shmkit watch [options]

The ls table, refreshed in place: sizes, attachments, users and values as
they change. q or Ctrl-C quits and gives the terminal back. Needs a
terminal.

Options:
  -i, --interval SEC time between refreshes in seconds, 0.1 to 3600
                     (default 1)
${SELECT_HELP}
  -h, --help         show this help
`;

export const watch: Command = {
  name: 'watch',
  summary: 'the ls table, refreshed live in the terminal (q quits)',
  help: HELP,
  run(args, context: Context) {
    if (wantsHelp(args)) {
      context.out.write(HELP);
      return EXIT_OK;
    }
    const { values } = parse(
      'watch',
      args,
      { ...SELECT_OPTIONS, interval: { type: 'string', short: 'i' } },
      { min: 0, max: 0, what: '' },
    );
    const s = selection('watch', values);
    const interval =
      values.interval === undefined
        ? 1
        : seconds('watch', '--interval', values.interval as string, 0.1, 3600);
    const { stdout, stdin } = context.io;
    if (stdout.isTTY !== true) {
      throw new CommandError(
        'watch needs a terminal on stdout; for a script, run `shmkit ls --json` in a loop',
      );
    }
    return new Promise<number>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const raw = stdin.isTTY === true && typeof stdin.setRawMode === 'function';

      const draw = () => {
        const width = stdout.columns ?? 80;
        const height = stdout.rows ?? 24;
        const inventory = takeInventory({ types: s.types });
        const objects = select(inventory.objects, s);
        const clock = new Date().toTimeString().slice(0, 8);
        const title = `shmkit watch  every ${interval}s  ${clock}  ${plural(objects.length, 'object')}  q quits`;
        const lines = [context.out.paint('bold', truncate(title, width)), ''];
        const table = lsTable(objects, s, width, context.out.color);
        const room = Math.max(2, height - lines.length - 1);
        if (table.length > room) {
          lines.push(
            ...table.slice(0, room - 1),
            `… ${table.length - room + 1} more (widen the terminal or filter with --type)`,
          );
        } else lines.push(...table);
        if (inventory.warnings.length > 0 && lines.length < height) {
          lines.push(context.out.paint('yellow', truncate(inventory.warnings[0]!, width)));
        }
        stdout.write(HOME + lines.map((line) => line + CLEAR_LINE).join('\n') + CLEAR_BELOW);
      };

      const finish = (status: number, error?: unknown) => {
        if (done) return;
        done = true;
        clearInterval(timer);
        stdin.off('data', onKey);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.off('SIGHUP', onSignal);
        stdout.off('resize', onResize);
        if (raw) stdin.setRawMode!(false);
        stdin.pause();
        stdout.write(CURSOR_SHOW + ALT_SCREEN_OFF);
        if (error === undefined) resolve(status);
        else reject(error);
      };
      const tick = () => {
        try {
          draw();
        } catch (error) {
          finish(1, error);
        }
      };
      const onKey = (chunk: Buffer | string) => {
        const text = chunk.toString();
        // q, Q, Ctrl-C (raw mode delivers it as a byte, not a signal), Ctrl-D.
        if ([...text].some((c) => c === 'q' || c === 'Q' || c === '\u0003' || c === '\u0004'))
          finish(EXIT_OK);
      };
      const onSignal = (signal: NodeJS.Signals) =>
        finish(signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143);
      const onResize = () => tick();

      stdout.write(ALT_SCREEN_ON + CURSOR_HIDE);
      if (raw) stdin.setRawMode!(true);
      stdin.on('data', onKey);
      stdin.resume();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.on('SIGHUP', onSignal);
      stdout.on('resize', onResize);
      tick();
      if (!done) timer = setInterval(tick, interval * 1000);
    });
  },
};
