import pRetry, { AbortError } from 'p-retry';
import type { FetchSettings } from '#lib/config.ts';
import { ConfigError, UpstreamError } from '#lib/errors.ts';
import { logger } from '#lib/logger.ts';
import { ApiResponse, ApiUser, withoutSecrets, type SafeUser } from '#lib/randomuser.ts';

/** One API request: a page of `results` users for a seed and a set of nationalities. */
export interface PageRequest {
  readonly seed: string;
  readonly nats: readonly string[];
  readonly page: number;
  readonly results: number;
  /** The invocation's deadline: when it aborts, the attempt in flight and any further ones stop. */
  readonly signal?: AbortSignal;
}

/** A page, split into users that passed validation (secrets already dropped) and the others, with why. */
export interface PageResult {
  readonly users: readonly { index: number; user: SafeUser }[];
  readonly rejected: readonly { index: number; reason: string }[];
}

export type FetchPage = (request: PageRequest) => Promise<PageResult>;

/** An attempt that may succeed if repeated: 429, 5xx, a timeout, a body that is not the API's JSON, too few users. */
class RetryableAttempt extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

/** The API version the client speaks: pinned, so that a new default version cannot change the shape under us. */
export const API_VERSION = '1.4';

/** How much of the upstream's own error text our error carries. */
const UPSTREAM_TEXT_MAX = 200;

/** The page's URL: the base URL's own path (a mirror under a prefix) kept, then `api/<version>/`. */
export function pageUrl(baseUrl: string, request: Omit<PageRequest, 'signal'>): URL {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/${API_VERSION}/`;
  url.search = '';
  url.hash = '';
  url.searchParams.set('results', String(request.results));
  url.searchParams.set('seed', request.seed);
  url.searchParams.set('page', String(request.page));
  if (request.nats.length > 0) url.searchParams.set('nat', request.nats.join(','));
  return url;
}

/**
 * What the upstream said about its error: the `error` of a `{"error": "…"}` body (the real API's
 * shape), else nothing; one line, truncated. It is the API's own text, never a user's data.
 */
export function upstreamText(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (typeof error !== 'string' || error.trim() === '') return undefined;
  const line = error.replace(/\s+/g, ' ').trim();
  return line.length <= UPSTREAM_TEXT_MAX ? line : `${line.slice(0, UPSTREAM_TEXT_MAX)}…`;
}

/** "answered 503" with the upstream's own words when it sent some. */
function answered(status: number, body: string): string {
  const text = upstreamText(body);
  return text === undefined ? `answered ${status}` : `answered ${status}: ${text}`;
}

/** Why a user failed validation, as paths and expectations only: never the values (personal data). */
function reasonOf(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(user)'}: ${i.message}`)
    .join('; ');
}

/** Validates each result on its own: one bad user is reported, never allowed to hide the rest. */
export function splitResults(results: readonly unknown[]): PageResult {
  const users: { index: number; user: SafeUser }[] = [];
  const rejected: { index: number; reason: string }[] = [];
  results.forEach((raw, index) => {
    const parsed = ApiUser.safeParse(raw);
    if (parsed.success) users.push({ index, user: withoutSecrets(parsed.data) });
    else rejected.push({ index, reason: reasonOf(parsed.error) });
  });
  return { users, rejected };
}

/**
 * The randomuser.me client: one GET per page with a timeout, retried with jittered exponential
 * backoff on 429, 5xx, timeouts, unusable bodies and pages with fewer users than asked; a 404 is a
 * ConfigError (the base URL is wrong) and other 4xx an UpstreamError, both at once. When the attempts
 * run out it throws an UpstreamError carrying the last HTTP status and the upstream's own error text.
 */
export function randomuserSource(
  settings: Pick<FetchSettings, 'RANDOMUSER_BASE_URL' | 'FETCH_TIMEOUT_MS' | 'FETCH_MAX_ATTEMPTS'>,
  options: { minBackoffMs?: number; maxBackoffMs?: number } = {},
): FetchPage {
  return async (request) => {
    const url = pageUrl(settings.RANDOMUSER_BASE_URL, request);

    let lastStatus: number | undefined;
    const attempt = async (): Promise<PageResult> => {
      let response: Response;
      try {
        const timeout = AbortSignal.timeout(settings.FETCH_TIMEOUT_MS);
        response = await fetch(url, {
          signal: request.signal === undefined ? timeout : AbortSignal.any([timeout, request.signal]),
        });
      } catch (error) {
        throw new RetryableAttempt(
          `request failed: ${error instanceof Error ? error.message : String(error)}`,
          undefined,
        );
      }
      lastStatus = response.status;
      const text = await response.text();
      if (response.status === 429 || response.status >= 500) {
        throw new RetryableAttempt(answered(response.status, text), response.status);
      }
      if (response.status === 404) {
        // Not the upstream failing: our RANDOMUSER_BASE_URL points where no API is. Retrying cannot help.
        throw new AbortError(
          new ConfigError(
            `randomuser answered 404 for ${url.pathname}: RANDOMUSER_BASE_URL (${url.origin}) serves no API v${API_VERSION} there`,
          ),
        );
      }
      if (!response.ok) {
        throw new AbortError(
          new UpstreamError(`randomuser ${answered(response.status, text)}`, response.status),
        );
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new RetryableAttempt('answered a body that is not JSON', response.status);
      }
      const envelope = ApiResponse.safeParse(body);
      if (!envelope.success)
        throw new RetryableAttempt('answered JSON without a results array', response.status);
      // A degraded page (`"results": []` with `"info": {"results": 1}`, or simply too few) is the
      // upstream failing, not a smaller batch: landing it would lose users without a word.
      const got = envelope.data.results.length;
      if (got < request.results) {
        throw new RetryableAttempt(
          `answered ${got} of the ${request.results} users asked for page ${request.page}`,
          response.status,
        );
      }
      return splitResults(envelope.data.results);
    };

    try {
      return await pRetry(attempt, {
        retries: settings.FETCH_MAX_ATTEMPTS - 1,
        minTimeout: options.minBackoffMs ?? 500,
        maxTimeout: options.maxBackoffMs ?? 10_000,
        randomize: true,
        // Also cuts a backoff short: no attempt starts after the deadline.
        ...(request.signal === undefined ? {} : { signal: request.signal }),
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          logger.warn('randomuser attempt failed', {
            page: request.page,
            attemptNumber,
            retriesLeft,
            reason: error.message,
          });
        },
      });
    } catch (error) {
      // Out of time is not the upstream's failure: the caller says what it means.
      if (error instanceof UpstreamError || error instanceof ConfigError || request.signal?.aborted === true)
        throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new UpstreamError(
        `randomuser kept failing for page ${request.page} after ${settings.FETCH_MAX_ATTEMPTS} attempts (last: ${reason})`,
        lastStatus,
        { cause: error },
      );
    }
  };
}
