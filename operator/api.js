// The admin JSON routes, addressed relative to this page (it is served at the router's root, wherever that is
// mounted). The token lives in sessionStorage for this tab and travels only in the Authorization header.

const TOKEN_KEY = 'reprise.adminToken';

export const adminToken = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? '',
  set: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An answer other than 2xx: `status` and the route's JSON `{ error, ... }`. */
export class AdminError extends Error {
  constructor(status, body) {
    super(typeof body?.error === 'string' ? body.error : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function call(method, path, { query, body } = {}) {
  const url = new URL(path, document.baseURI);
  for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, value);
  const headers = { accept: 'application/json' };
  const token = adminToken.get();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'same-origin',
  });
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new AdminError(response.status, answer);
  return answer;
}

export const api = {
  stats: () => call('GET', 'cache/stats'),
  warmProgress: () => call('GET', 'cache/warm-popular-moods'),
  startWarm: (request) => call('POST', 'cache/warm-popular-moods', { body: request }),
  invalidate: (category) => call('POST', 'cache/invalidate', { query: category ? { category } : {} }),
};
