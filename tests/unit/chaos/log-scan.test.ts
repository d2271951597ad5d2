import { mkdtempSync, writeFileSync, mkdirSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate, parseQuery } from '#infra/randomuser/generator.ts';
import {
  addSecretsOfSeed,
  canaryLines,
  emptySecrets,
  logFilesSince,
  scanLine,
  scanLogs,
} from '#scripts/chaos/log-scan.ts';

const secrets = emptySecrets();
addSecretsOfSeed(secrets, 'scan-seed', 7000, 5000);
const page2 = generate(parseQuery({ results: '2000', seed: 'scan-seed', page: '2' }, () => 'x'));
const someone = (
  page2['results'] as { email: string; phone: string; login: Record<string, string> }[]
)[0] ?? {
  email: '',
  phone: '',
  login: {},
};

describe('the log scan for personal data', () => {
  it('knows every user of every page, as the local randomuser server makes them', () => {
    expect(secrets.email.has(someone.email)).toBe(true);
    expect(secrets.hash.has(someone.login['sha256'] ?? '')).toBe(true);
    expect(secrets.salt.size).toBeGreaterThan(6000);
  });

  it('finds each kind in a line, whatever surrounds it, and a phone as written or as bare digits', () => {
    const phone = someone.phone;
    const hits = scanLine(
      `x ${someone.email}; tel ${phone}, or ${phone.replace(/\D/g, '')} ${someone.login['md5']} salt:${someone.login['salt']} password=${someone.login['password']}`,
      secrets,
      'f',
      3,
    );
    expect(hits.map((h) => h.kind).sort()).toEqual(['email', 'hash', 'password', 'phone', 'phone', 'salt']);
    expect(hits[0]).toMatchObject({ file: 'f', line: 3 });
  });

  it('does not take a date and time for a phone', () => {
    expect(
      scanLine("next_dagrun='2026-12-01 12:15:00+00:00' at 2026-12-01T12:16:19.851722Z", secrets, 'f', 1),
    ).toEqual([]);
  });

  it('does not count a common word as a password unless it is given as one', () => {
    const password = someone.login['password'] ?? '';
    expect(scanLine(`the ${password} task finished`, secrets, 'f', 1)).toEqual([]);
  });

  it('finds every canary line in a file, and reads only logs written since the run began', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'scan-'));
    mkdirSync(path.join(root, 'kafka', 'logs'), { recursive: true });
    mkdirSync(path.join(root, 'kafka', 'data'), { recursive: true });
    const { lines, kinds } = canaryLines(secrets);
    writeFileSync(path.join(root, 'kafka', 'logs', 'server.log'), `${lines.join('\n')}\n`);
    // A data folder holds the users themselves: never read, whatever its files are called.
    writeFileSync(path.join(root, 'kafka', 'data', '0000.log'), lines.join('\n'));
    writeFileSync(path.join(root, 'kafka', 'logs', 'old.log'), lines.join('\n'));
    utimesSync(path.join(root, 'kafka', 'logs', 'old.log'), new Date(2000, 0, 1), new Date(2000, 0, 1));
    const files = logFilesSince(root, [], Date.now() - 60_000);
    expect(files).toEqual([path.join(root, 'kafka', 'logs', 'server.log')]);
    const { hits } = await scanLogs(files, secrets);
    rmSync(root, { recursive: true, force: true });
    expect(hits.map((h) => h.kind)).toEqual(kinds);
  });
});
