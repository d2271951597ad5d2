import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAlive, sleep } from './process.ts';

let depth = 0;

/**
 * Runs `task` while holding an exclusive lock file (it holds our pid), so that two `up`s or an `up`
 * and a `down` from different processes never race on the same ports and pid files. A lock left by a
 * process that died is taken over. Nested calls in one process run at once.
 */
export async function withLock<T>(
  file: string,
  task: () => Promise<T>,
  onWait: (holder: number) => void,
): Promise<T> {
  if (depth === 0) await acquire(file, onWait);
  depth++;
  try {
    return await task();
  } finally {
    depth--;
    if (depth === 0) await rm(file, { force: true });
  }
}

async function acquire(file: string, onWait: (holder: number) => void): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  let told = false;
  for (;;) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    if (!Number.isInteger(holder) || !(await isAlive(holder))) {
      await rm(file, { force: true });
      continue;
    }
    if (!told) onWait(holder);
    told = true;
    await sleep(500);
  }
}
