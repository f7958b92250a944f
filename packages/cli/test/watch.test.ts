// `shmkit watch` in a real pseudo-terminal (tmux): it draws the table on
// the alternate screen, redraws as objects come, and on q or Ctrl-C gives
// the terminal back: main screen, visible cursor, canonical mode with echo.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Channel } from '@shmkit/channel';
import { describe, expect, it } from 'vitest';
import { bin, later, posixName, shmkit } from './helpers';

// A server per test: a killed one may still hold its socket when the next test starts.
let sessions = 0;
let socket = `shmkit-cli-test-${process.pid}-0`;

function tmux(...args: string[]): string {
  const result = spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

const screen = () => tmux('capture-pane', '-p', '-t', 'watch');
const pane = (format: string) => tmux('display-message', '-p', '-t', 'watch', format).trim();

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; screen:\n${screen()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts watch in a 100x30 tmux pane; after it quits, the shell prints its status and the tty modes. */
function startWatch(prefix: string): void {
  sessions += 1;
  socket = `shmkit-cli-test-${process.pid}-${sessions}`;
  const mine = socket;
  const command = `${process.execPath} ${bin} watch --interval 0.2 --type posix-shm --name '${prefix}*'; echo "EXIT=$?"; stty -a; sleep 60`;
  tmux(
    'new-session',
    '-d',
    '-s',
    'watch',
    '-x',
    '100',
    '-y',
    '30',
    `env -u NO_COLOR -u FORCE_COLOR TERM=xterm sh -c '${command.replace(/'/g, "'\\''")}'`,
  );
  later(() => spawnSync('tmux', ['-L', mine, 'kill-server']));
}

describe('shmkit watch', () => {
  it.each([
    ['q', 'q'],
    ['Ctrl-C', 'C-c'],
  ])('draws, refreshes, and %s quits and restores the terminal', async (_, key) => {
    const prefix = `/shmkit-cli-watch-${key === 'q' ? 'q' : 'c'}-${process.pid}`;
    const first = posixName(`${prefix.slice(1)}-first`);
    writeFileSync(`/dev/shm${first}`, Buffer.alloc(2048));
    startWatch(prefix);

    await until('the table', () => screen().includes(first));
    const drawn = screen();
    expect(drawn).toMatch(/^shmkit watch {2}every 0\.2s {2}\d\d:\d\d:\d\d {2}1 object {2}q quits/);
    expect(drawn).toMatch(/TYPE\s+NAME\s+ID\s+OWNER\s+MODE\s+SIZE\s+USE\s+INFO/);
    expect(drawn).toMatch(new RegExp(`posix-shm\\s+${first}\\s+-\\s+root\\s+0644\\s+2\\.0K`));
    expect(pane('#{alternate_on} #{cursor_flag}')).toBe('1 0');

    const second = posixName(`${prefix.slice(1)}-second`);
    writeFileSync(`/dev/shm${second}`, Buffer.alloc(8192));
    await until('the new object', () => screen().includes(second));
    expect(screen()).toMatch(/2 objects/);

    tmux('send-keys', '-t', 'watch', key);
    await until('watch to quit', () => screen().includes('EXIT=0'));
    expect(pane('#{alternate_on} #{cursor_flag}')).toBe('0 1');
    const after = screen();
    // Back in canonical mode with echo, as the shell left it.
    expect(after).toMatch(/(^|\s)icanon(\s|$)/m);
    expect(after).toMatch(/(^|\s)echo(\s|$)/m);
    expect(after).not.toMatch(/-icanon|(^|\s)-echo(\s|$)/m);
    // The table stayed on the alternate screen: the main one shows none of it.
    expect(after).not.toContain('TYPE');
  });

  it('shows a channel filling up as a live sender sends', async () => {
    const prefix = `/shmkit-cli-watch-chan-${process.pid}`;
    const name = posixName(`${prefix.slice(1)}`);
    using channel = Channel.create(name, { capacity: 4096, exclusive: true });
    using tx = channel.sender();
    startWatch(prefix);
    await until('the empty channel', () => /\sspsc 0% tx 1 rx 0/.test(screen()));
    // 20 messages of 100 bytes: 20 records of 112 bytes, 2240 of 4096.
    for (let i = 0; i < 20; i++) tx.send(Buffer.alloc(100));
    tx.flush();
    await until('the fill level', () => /\sspsc 55% tx 1 rx 0/.test(screen()));
    tmux('send-keys', '-t', 'watch', 'q');
    await until('watch to quit', () => screen().includes('EXIT=0'));
  });

  it('refuses to run without a terminal', async () => {
    const result = await shmkit(['watch']);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe(
      'shmkit: watch: watch needs a terminal on stdout; for a script, run `shmkit ls --json` in a loop\n',
    );
  });
});
