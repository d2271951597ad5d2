/**
 * "No personal data or secret in any log": every log file a run leaves (the functions' and the
 * trigger's output, every service's log, Airflow's task logs, Spark's driver and executor logs) is
 * read for the run's users' e-mails, phone numbers, and the API's password, salt and hashes, which
 * the pipeline drops at fetch. The users are generated again from their seeds and pages exactly as the
 * local randomuser server made them (the e-mails are checked against PostgreSQL to prove it).
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { generate, parseQuery } from '#infra/randomuser/generator.ts';

/** What must never appear in a log, by kind. Phones are kept as written and as bare digits. */
export interface Secrets {
  readonly email: Set<string>;
  readonly phone: Set<string>;
  readonly salt: Set<string>;
  readonly hash: Set<string>;
  readonly password: Set<string>;
}

export const emptySecrets = (): Secrets => ({
  email: new Set(),
  phone: new Set(),
  salt: new Set(),
  hash: new Set(),
  password: new Set(),
});

/** The users of `seed`'s pages of `pageSize` (the DAG's chunks), as the local randomuser server makes them. */
export function addSecretsOfSeed(secrets: Secrets, seed: string, users: number, pageSize: number): void {
  for (let page = 1; (page - 1) * pageSize < users; page++) {
    const results = Math.min(pageSize, users - (page - 1) * pageSize);
    const query = { results: String(results), seed, page: String(page) };
    const response = generate(parseQuery(query, () => seed));
    for (const user of response['results'] as Record<string, unknown>[]) {
      const login = user['login'] as Record<string, string>;
      secrets.email.add(String(user['email']));
      for (const phone of [user['phone'], user['cell']]) {
        // As the API writes it, and as bare digits (a log that strips the punctuation).
        secrets.phone.add(String(phone));
        secrets.phone.add(String(phone).replace(/\D/g, ''));
      }
      secrets.salt.add(login['salt'] ?? '');
      for (const hash of [login['md5'], login['sha1'], login['sha256']]) secrets.hash.add(hash ?? '');
      secrets.password.add(login['password'] ?? '');
    }
  }
}

export interface Hit {
  readonly file: string;
  readonly line: number;
  readonly kind: keyof Secrets;
}

const EMAIL = /[\w.+'-]+@[\w-]+(?:\.[\w-]+)+/g;
/** Runs of digits with the separators phone numbers use, at least 7 digits long. */
const PHONE = /\(?\d[\d\s().-]{5,}\d/g;
const SALT = /\b[a-j]{8}\b/g;
const HASH = /\b[0-9a-f]{32,64}\b/g;
/** A password is a common word: only a value given as a password (JSON, key=value, a query) counts. */
const PASSWORD = /password["']?\s*[:=]\s*["']?([^"'\s,&}]+)/gi;

/**
 * Each run of a phone-like match's space-separated parts, as written: a phone next to another number
 * is one match, yet either alone may be the phone. A run of bare digits is checked as it is; one with
 * punctuation only in the API's own format (a date's "2026-12-01 12:15" is no phone's bare digits).
 */
function phoneCandidates(match: string): string[] {
  const parts = match.split(/\s+/);
  const candidates: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    for (let j = i + 1; j <= parts.length; j++) {
      const run = parts.slice(i, j).join(' ');
      if (run.replace(/\D/g, '').length >= 7) candidates.push(run);
    }
  }
  return candidates;
}

/** The hits of one line (1-based `line`). */
export function scanLine(text: string, secrets: Secrets, file: string, line: number): Hit[] {
  const hits: Hit[] = [];
  const check = (kind: keyof Secrets, values: Iterable<string>): void => {
    for (const value of values) if (secrets[kind].has(value)) hits.push({ file, line, kind });
  };
  check('email', text.match(EMAIL) ?? []);
  check('phone', (text.match(PHONE) ?? []).flatMap(phoneCandidates));
  check('salt', text.match(SALT) ?? []);
  check('hash', text.match(HASH) ?? []);
  check(
    'password',
    [...text.matchAll(PASSWORD)].map((m) => m[1] ?? ''),
  );
  return hits;
}

/** Every file under `dir` (recursively) that `keep` accepts. */
function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.isFile() && keep(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/**
 * The log files of the stack's services (`servicesDir`) and of `extraDirs` written since `sinceMs`:
 * each service's logs folder, Airflow's task logs, and the stdout and stderr of Spark's executors in
 * the worker's work folder. Data folders are not read: they hold the users themselves (Kafka's
 * segments are even named *.log).
 */
export function logFilesSince(servicesDir: string, extraDirs: readonly string[], sinceMs: number): string[] {
  const all = (): boolean => true;
  const services = readdirSync(servicesDir);
  const files = [
    ...services.flatMap((name) => filesUnder(path.join(servicesDir, name, 'logs'), all)),
    ...filesUnder(path.join(servicesDir, 'airflow', 'data', 'logs'), all),
    ...filesUnder(
      path.join(servicesDir, 'spark-worker', 'data'),
      (name) => name === 'stdout' || name === 'stderr',
    ),
    ...filesUnder(path.join(servicesDir, 'spark-job', 'test-runs'), (name) => name.endsWith('.log')),
    ...extraDirs.flatMap((dir) => filesUnder(dir, all)),
  ];
  return [...new Set(files)].filter((file) => statSync(file).mtimeMs >= sinceMs).sort();
}

/**
 * Lines that leak one user's values on purpose, one kind each: the run writes them to a log of its
 * own and must find every one, which proves that the scan would see a real leak.
 */
export function canaryLines(secrets: Secrets): { lines: string[]; kinds: (keyof Secrets)[] } {
  const first = (kind: keyof Secrets): string => {
    const value = secrets[kind].values().next().value;
    if (value === undefined) throw new Error(`no ${kind} to plant in the canary log`);
    return value;
  };
  const kinds: (keyof Secrets)[] = ['email', 'phone', 'salt', 'hash', 'password'];
  const lines = [
    `{"level":"INFO","message":"user","email":"${first('email')}"}`,
    `called back on ${first('phone')}`,
    `login salt=${first('salt')}`,
    `digest ${first('hash')} matched`,
    `{"password": "${first('password')}"}`,
  ];
  return { lines, kinds };
}

/** Reads each file line by line; returns every hit and how much was read. */
export async function scanLogs(
  files: readonly string[],
  secrets: Secrets,
): Promise<{ files: number; bytes: number; hits: Hit[] }> {
  const hits: Hit[] = [];
  let bytes = 0;
  for (const file of files) {
    bytes += statSync(file).size;
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let number = 0;
    for await (const text of lines) hits.push(...scanLine(text, secrets, file, ++number));
  }
  return { files: files.length, bytes, hits };
}
