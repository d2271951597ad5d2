import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { installOnce } from '#infra/stack/lib/toolchain.ts';

describe('installOnce', () => {
  it('builds once for callers that ask at the same time, as services starting in parallel do', async () => {
    const target = path.join(mkdtempSync(path.join(os.tmpdir(), 'install-')), 'tool');
    let builds = 0;
    const build = async (dir: string): Promise<void> => {
      builds += 1;
      await new Promise((resolve) => setTimeout(resolve, 50));
      await writeFile(path.join(dir, 'bin'), 'built');
    };
    await Promise.all([installOnce(target, 'v1', build), installOnce(target, 'v1', build)]);
    expect(builds).toBe(1);
    expect(readFileSync(path.join(target, 'bin'), 'utf8')).toBe('built');
  });

  it('keeps a finished install with the same stamp, and redoes one with another or an unfinished one', async () => {
    const target = path.join(mkdtempSync(path.join(os.tmpdir(), 'install-')), 'tool');
    let builds = 0;
    const build = async (dir: string): Promise<void> => {
      builds += 1;
      await writeFile(path.join(dir, 'bin'), `build ${builds}`);
    };
    await installOnce(target, 'v1', build);
    await installOnce(target, 'v1', build);
    expect(builds).toBe(1);
    await installOnce(target, 'v2', build);
    expect(builds).toBe(2);
    await expect(installOnce(target, 'v3', () => Promise.reject(new Error('network down')))).rejects.toThrow(
      'network down',
    );
    expect(existsSync(path.join(target, '.installed'))).toBe(false);
    await installOnce(target, 'v3', build);
    expect(readFileSync(path.join(target, '.installed'), 'utf8')).toBe('v3');
  });
});
