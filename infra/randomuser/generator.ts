import { createHash } from 'node:crypto';
import {
  datasets,
  femaleTitles,
  NATIONALITIES,
  passwords,
  timezones,
  usernameParts,
  type NatDataset,
} from './datasets.ts';

/** The real API's limit on `results`. */
export const MAX_RESULTS = 5000;
const VERSION = '1.4';
const FIELDS = [
  'gender',
  'name',
  'location',
  'email',
  'login',
  'registered',
  'dob',
  'phone',
  'cell',
  'id',
  'picture',
  'nat',
];

/** The query parameters, as strings, the way a URL carries them. */
export type Query = Readonly<Record<string, string | undefined>>;

/** What a request asks for, after the real API's coercion rules. */
export interface Request {
  readonly results: number;
  readonly page: number;
  readonly seed: string;
  /** One nationality per user, picked among these (all when the request named none or a bad one). */
  readonly nats: readonly string[];
  readonly fields: ReadonlySet<string>;
  readonly noinfo: boolean;
  readonly gender: 'male' | 'female' | undefined;
}

/**
 * Applies the real API's rules: `results` that is not a number, negative or above 5000 becomes 1;
 * `page` outside 1..10000 becomes 1; an unknown nationality anywhere in `nat` means all
 * nationalities; `inc` then `exc` choose the fields; `gender` is ignored when a seed is given.
 */
export function parseQuery(query: Query, randomSeed: () => string): Request {
  let results = Number(query['results']);
  if (Number.isNaN(results) || results < 0 || results > MAX_RESULTS) results = 1;
  let page = Number(query['page']) || 1;
  if (page < 0 || page > 10_000) page = 1;
  const seed = query['seed'] !== undefined && query['seed'] !== '' ? query['seed'] : randomSeed();
  const wanted = (query['nat'] ?? '')
    .split(',')
    .filter((n) => n !== '')
    .map((n) => n.trim().toUpperCase());
  const nats = wanted.length > 0 && wanted.every((n) => n in datasets) ? wanted : NATIONALITIES;
  const list = (raw: string | undefined): string[] =>
    (raw ?? '')
      .split(',')
      .map((f) => f.trim().toLowerCase())
      .filter((f) => f !== '');
  const include = query['inc'] === undefined || query['inc'] === '' ? FIELDS : list(query['inc']);
  const exclude = new Set(list(query['exc']));
  const gender = query['gender'] === 'male' || query['gender'] === 'female' ? query['gender'] : undefined;
  return {
    results,
    page,
    seed,
    nats,
    fields: new Set(FIELDS.filter((f) => include.includes(f) && !exclude.has(f))),
    noinfo: query['noinfo'] !== undefined,
    gender: query['seed'] === undefined || query['seed'] === '' ? gender : undefined,
  };
}

/**
 * A small fast PRNG (sfc32) seeded from md5(seed + page), so a seed and page always give the same
 * users. The chaos suite draws its fault schedule from it too, so that a seed repeats a schedule.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string, page: number) {
    const digest = createHash('md5')
      .update(page === 1 ? seed : `${seed}${page}`)
      .digest();
    this.a = digest.readUInt32LE(0);
    this.b = digest.readUInt32LE(4);
    this.c = digest.readUInt32LE(8);
    this.d = digest.readUInt32LE(12);
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** Replaces each # with a digit and each A with a capital letter. */
  pattern(template: string): string {
    let out = '';
    for (const ch of template) {
      out +=
        ch === '#' ? String(this.int(0, 9)) : ch === 'A' ? String.fromCharCode(65 + this.int(0, 25)) : ch;
    }
    return out;
  }

  hex(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += this.int(0, 15).toString(16);
    return out;
  }

  uuid(): string {
    const h = this.hex(32);
    const variant = ((this.int(0, 3) | 8) >>> 0).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

const native = (entry: string): string => entry.split('|')[0] ?? entry;
const latin = (entry: string): string =>
  (entry.split('|')[1] ?? entry).normalize('NFD').replace(/[^A-Za-z' -]/g, '');
const YEAR_MS = 365.25 * 24 * 3600 * 1000;
const DOB_FROM = Date.UTC(1944, 0, 1);
const DOB_TO = Date.UTC(2002, 0, 1);
const REGISTERED_FROM = Date.UTC(2002, 2, 21);
const REGISTERED_TO = Date.UTC(2022, 4, 23);

function user(random: Random, request: Request, now: number): Record<string, unknown> {
  const nat = random.pick(request.nats);
  const data: NatDataset | undefined = datasets[nat];
  if (data === undefined) throw new Error(`no dataset for nationality ${nat}`);
  const gender = request.gender ?? (random.next() < 0.5 ? 'male' : 'female');
  const first = random.pick(gender === 'male' ? data.maleFirst : data.femaleFirst);
  const last = random.pick(data.last);
  const password = random.pick(passwords);
  const salt = random.pattern('########').replace(/\d/g, (d) => 'abcdefghij'.charAt(Number(d)));
  const salted = password + salt;
  const dob = random.int(DOB_FROM, DOB_TO);
  const registered = random.int(REGISTERED_FROM, REGISTERED_TO);
  const picture = random.int(0, gender === 'male' ? 99 : 96);
  const kind = gender === 'male' ? 'men' : 'women';
  const full: Record<string, unknown> = {
    gender,
    name: {
      title: gender === 'male' ? 'Mr' : random.pick(femaleTitles),
      first: native(first),
      last: native(last),
    },
    location: {
      street: { number: random.int(1, 9999), name: random.pick(data.streets) },
      city: random.pick(data.cities),
      state: random.pick(data.states),
      country: data.country,
      postcode:
        data.postcodePattern === undefined ? random.int(10000, 99999) : random.pattern(data.postcodePattern),
      coordinates: {
        latitude: (random.next() * 180 - 90).toFixed(4),
        longitude: (random.next() * 360 - 180).toFixed(4),
      },
      timezone: random.pick(timezones),
    },
    email: `${latin(first)}.${latin(last)}@example.com`.replace(/[ ']/g, '').toLowerCase(),
    login: {
      uuid: random.uuid(),
      username: `${random.pick(usernameParts[0])}${random.pick(usernameParts[1])}${random.int(100, 999)}`,
      password,
      salt,
      md5: createHash('md5').update(salted).digest('hex'),
      sha1: createHash('sha1').update(salted).digest('hex'),
      sha256: createHash('sha256').update(salted).digest('hex'),
    },
    dob: { date: new Date(dob).toISOString(), age: Math.floor((now - dob) / YEAR_MS) },
    registered: { date: new Date(registered).toISOString(), age: Math.floor((now - registered) / YEAR_MS) },
    phone: random.pattern(data.phone),
    cell: random.pattern(data.phone),
    id: { name: data.idName, value: data.idName === '' ? null : random.pattern('#########') },
    picture: {
      large: `https://randomuser.me/api/portraits/${kind}/${picture}.jpg`,
      medium: `https://randomuser.me/api/portraits/med/${kind}/${picture}.jpg`,
      thumbnail: `https://randomuser.me/api/portraits/thumb/${kind}/${picture}.jpg`,
    },
    nat,
  };
  return Object.fromEntries(Object.entries(full).filter(([field]) => request.fields.has(field)));
}

/** The API's response body for a request: `results`, and `info` unless `noinfo` was given. */
export function generate(request: Request, now = Date.now()): Record<string, unknown> {
  const random = new Random(request.seed, request.page);
  const results: Record<string, unknown>[] = [];
  for (let i = 0; i < request.results; i++) results.push(user(random, request, now));
  if (request.noinfo) return { results };
  return {
    results,
    info: { seed: request.seed, results: request.results, page: request.page, version: VERSION },
  };
}
