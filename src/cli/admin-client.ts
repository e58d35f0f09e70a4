/**
 * The admin JSON routes over HTTP, for the command line. The base URL is where the host mounts reprise.router; the
 * token travels only in the Authorization header. What is printed about a failure names the route and the server's
 * own `error`, never the token, and the address without any credentials it may hold.
 */

/** A request that did not succeed: `status` is the HTTP status, or null when no answer came. */
export class AdminRequestError extends Error {
  override name = 'AdminRequestError';
  constructor(message: string, readonly status: number | null, readonly body: Record<string, unknown> | null = null) {
    super(message);
  }
}

export interface AdminClientOptions {
  url: string;
  token?: string | undefined;
  /** Per request (default 30 s). */
  timeoutMs?: number;
}

export interface WarmProgress {
  jobId: string | null;
  status: string;
  total: number;
  done: number;
  failed: number;
  startedAt: string | null;
  finishedAt: string | null;
  /** The first moods that got no entry (absent from older servers). */
  failures?: Array<{ mood: string; outcome: string; error?: string }>;
}

export class AdminClient {
  private readonly base: URL;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: AdminClientOptions) {
    let base: URL;
    try {
      base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    } catch {
      throw new AdminRequestError('--url (REPRISE_URL) must be an http(s) URL such as http://localhost:3000/api/agents/system', null);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new AdminRequestError('--url (REPRISE_URL) must be an http(s) URL such as http://localhost:3000/api/agents/system', null);
    }
    // Credentials belong in --token, never in the address (fetch would refuse them, repeating the whole URL).
    if (base.username || base.password) {
      throw new AdminRequestError('--url (REPRISE_URL) must not hold a user name or password: give the admin token with --token (REPRISE_ADMIN_TOKEN)', null);
    }
    // A token that cannot travel in a header would be refused by fetch in a message that repeats it.
    if (options.token && !/^[\x21-\x7e]+$/.test(options.token)) {
      throw new AdminRequestError('the admin token (--token, REPRISE_ADMIN_TOKEN) must be printable ASCII without spaces', null);
    }
    this.base = base;
    this.token = options.token || undefined;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  stats(): Promise<Record<string, unknown>> {
    return this.call('GET', 'cache/stats');
  }

  warmProgress(): Promise<WarmProgress> {
    return this.call('GET', 'cache/warm-popular-moods');
  }

  startWarm(request: { moods?: string[]; force?: boolean }): Promise<{ jobId: string; status: string; moods: string[] }> {
    return this.call('POST', 'cache/warm-popular-moods', request);
  }

  invalidate(category?: string): Promise<{ category: string; invalidated: number }> {
    const query = category === undefined ? '' : `?${new URLSearchParams({ category })}`;
    return this.call('POST', `cache/invalidate${query}`);
  }

  /** The address shown in messages: no user name or password. */
  get shownUrl(): string {
    return `${this.base.origin}${this.base.pathname}`;
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: object): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const route = `${method} ${path.split('?')[0]}`;
    let response: Response;
    try {
      response = await fetch(new URL(path, this.base), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      // The network's own code (ECONNREFUSED, a timeout), never fetch's message: it may quote the request.
      const cause = (error as { cause?: { code?: string } }).cause;
      const reason = cause?.code ?? ((error as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (error as Error).name);
      throw new AdminRequestError(`${route}: no answer from ${this.shownUrl} (${reason})`, null);
    }
    const text = await response.text();
    let answer: unknown = null;
    try {
      answer = JSON.parse(text);
    } catch {
      // Not JSON: not an admin route (a wrong --url), said below.
    }
    const json = typeof answer === 'object' && answer !== null ? (answer as Record<string, unknown>) : null;
    if (!response.ok) {
      const detail = typeof json?.error === 'string' ? json.error : `not an answer of the reprise admin routes; is ${this.shownUrl} where reprise.router is mounted?`;
      throw new AdminRequestError(`${route}: ${response.status} ${detail}`, response.status, json);
    }
    if (json === null) throw new AdminRequestError(`${route}: the answer is not JSON; is ${this.shownUrl} where reprise.router is mounted?`, response.status);
    return json as T;
  }
}
