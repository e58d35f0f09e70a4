/** Driving a running demo back end over HTTP, as a user and as an operator would. */
import type { Demo } from '../../examples/demo/server.js';

export interface PlaylistAnswer {
  cacheType: 'redis' | 'memory';
  [key: string]: unknown;
}

/** POST /api/playlists; fails the test on anything but 200. */
export async function playlist(demo: Demo, userId: string, moodPrompt: string): Promise<PlaylistAnswer> {
  const response = await fetch(`${demo.url}/api/playlists`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId, moodPrompt }),
  });
  if (response.status !== 200) throw new Error(`playlist for "${moodPrompt}": ${response.status} ${await response.text()}`);
  return (await response.json()) as PlaylistAnswer;
}

/** An admin route under /api/agents/system with the demo's bearer token; fails on an unexpected status. */
export async function admin<T = Record<string, unknown>>(demo: Demo, method: 'GET' | 'POST', route: string, expectedStatus = 200): Promise<T> {
  const response = await fetch(`${demo.url}/api/agents/system${route}`, {
    method,
    headers: { authorization: `Bearer ${demo.adminToken}` },
  });
  if (response.status !== expectedStatus) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** The demo's /metrics text. */
export async function scrape(demo: Demo): Promise<string> {
  const response = await fetch(`${demo.url}/metrics`);
  if (!response.ok) throw new Error(`/metrics: ${response.status}`);
  return response.text();
}
