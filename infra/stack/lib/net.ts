import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { commandLine } from './process.ts';

const execFileAsync = promisify(execFile);

/** Every service of the stack binds here and nowhere else. */
export const LOOPBACK = '127.0.0.1';

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function isPortOpen(port: number, host = LOOPBACK, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

/** The pid and command line of whatever listens on a TCP port, as far as `ss` can tell. */
export async function portOwner(port: number): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ss', ['-Hltnp', `sport = :${port}`]);
    const pid = /pid=(\d+)/.exec(stdout)?.[1];
    if (pid === undefined) return 'an unknown process';
    const cmd = await commandLine(Number(pid));
    return `pid ${pid} (${cmd.length > 100 ? `${cmd.slice(0, 100)}…` : cmd})`;
  } catch {
    return 'an unknown process';
  }
}
