/// <reference lib="dom" />

/**
 * The console API seen from the page: JSON under `api/`, relative to the page's own address (the
 * HTML's <base> makes `…/console`, `…/console/` and `…/console/index.html` the same), with the key in `x-api-key`.
 */

const KEY_STORAGE = 'console.apiKey';
const TIMEOUT_MS = 15_000;

/** An answer other than 2xx: its status, and the `message` the API put in it when it did. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The key was refused (403, or 401 from a gateway in front): the page asks for it again. */
export class KeyRefused extends ApiError {}

export interface Client {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
}

/** The key of this tab: sessionStorage, so it is gone with the tab and never part of a URL. */
export const apiKey = {
  get: (): string | null => sessionStorage.getItem(KEY_STORAGE),
  set: (key: string): void => {
    sessionStorage.setItem(KEY_STORAGE, key);
  },
  clear: (): void => {
    sessionStorage.removeItem(KEY_STORAGE);
  },
};

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { message?: unknown };
    const message = body.message;
    if (typeof message === 'string' && message !== '') return message;
  } catch {
    // Not the API's JSON (a gateway's or proxy's page): the status says enough.
  }
  return `HTTP ${response.status} ${response.statusText}`.trim();
}

/** A client that calls `onRefused` (once per refusal) before throwing KeyRefused. */
export function createClient(onRefused: () => void): Client {
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { accept: 'application/json', 'x-api-key': apiKey.get() ?? '' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(new URL(`api/${path}`, document.baseURI), {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      cache: 'no-store',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (response.status === 401 || response.status === 403) {
      onRefused();
      throw new KeyRefused(response.status, 'the API key was refused');
    }
    if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
    return (await response.json()) as T;
  };
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
  };
}

/** An error as one line for the page. */
export function describeError(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return 'no answer (timed out)';
  if (error instanceof TypeError) return `the request failed (${error.message})`;
  return error instanceof Error ? error.message : String(error);
}

/** Runs `task` every `intervalMs` after the previous run ended (never two at once) while started. */
export class Poller {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  /** Bumped by start(): a run still in flight from before a stop() does not schedule another. */
  private generation = 0;
  private readonly intervalMs: number;
  private readonly task: () => Promise<void>;

  constructor(intervalMs: number, task: () => Promise<void>) {
    this.intervalMs = intervalMs;
    this.task = task;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.generation++;
    void this.tick(this.generation);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  private async tick(generation: number): Promise<void> {
    await this.task();
    if (this.running && generation === this.generation) {
      this.timer = setTimeout(() => void this.tick(generation), this.intervalMs);
    }
  }
}
