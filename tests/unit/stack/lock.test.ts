import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withLock } from '#infra/stack/lib/lock.ts';

const lockFile = (): string => path.join(mkdtempSync(path.join(os.tmpdir(), 'stack-lock-')), 'stack.lock');

describe('withLock', () => {
  it('holds the lock file while the task runs and removes it after', async () => {
    const file = lockFile();
    const seen = await withLock(
      file,
      () => Promise.resolve(existsSync(file)),
      () => undefined,
    );
    expect(seen).toBe(true);
    expect(existsSync(file)).toBe(false);
  });

  it('takes over a lock left by a process that died', async () => {
    const file = lockFile();
    writeFileSync(file, '999999999\n');
    const waited: number[] = [];
    expect(
      await withLock(
        file,
        () => Promise.resolve('ran'),
        (holder) => waited.push(holder),
      ),
    ).toBe('ran');
    expect(waited).toEqual([]);
  });

  it('waits for a live holder, says who it waits for, and runs once the holder lets go', async () => {
    const file = lockFile();
    writeFileSync(file, '1\n'); // pid 1 is always alive
    const waited: number[] = [];
    setTimeout(() => {
      rmSync(file);
    }, 700);
    const started = Date.now();
    expect(
      await withLock(
        file,
        () => Promise.resolve('ran'),
        (holder) => waited.push(holder),
      ),
    ).toBe('ran');
    expect(waited).toEqual([1]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  });

  it('lets nested calls in one process through, and releases the lock only at the outermost', async () => {
    const file = lockFile();
    await withLock(
      file,
      async () => {
        await withLock(
          file,
          () => Promise.resolve(),
          () => undefined,
        );
        expect(existsSync(file)).toBe(true);
      },
      () => undefined,
    );
    expect(existsSync(file)).toBe(false);
  });
});
