/**
 * Requests the way a client on the wire can send them, which supertest cannot: no Content-Type with a body, chunked
 * bodies, raw bytes, any method Node's HTTP parser knows, and query strings holding lone surrogates (as the WTF-8
 * bytes a careless client would percent-encode).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RawRequest {
  method: string;
  /** The request target, already percent-encoded (see percentEncode). */
  path: string;
  headers?: Record<string, string>;
  /** Sent as is; undefined sends no body at all. */
  body?: string | Uint8Array;
  /** Send the body chunked (no Content-Length). */
  chunked?: boolean;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface Listening {
  port: number;
  send(request: RawRequest): Promise<RawResponse>;
  close(): Promise<void>;
}

export async function listen(app: http.RequestListener): Promise<Listening> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  return {
    port,
    send: (request) => send(port, agent, request),
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(port: number, agent: http.Agent, request: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...request.headers };
    const body = request.body === undefined ? undefined : Buffer.from(request.body);
    if (body !== undefined && !request.chunked) headers['content-length'] = String(body.length);
    const req = http.request({ host: '127.0.0.1', port, agent, method: request.method, path: request.path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined && body.length > 0) req.write(body);
    req.end();
  });
}

/**
 * encodeURIComponent for any string: a lone surrogate (which encodeURIComponent refuses with URIError) becomes the
 * percent-encoded WTF-8 bytes of its code unit.
 */
export function percentEncode(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(text.slice(i, i + 2));
      i += 1;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
        .map((byte) => `%${byte.toString(16).toUpperCase()}`)
        .join('');
    } else {
      out += encodeURIComponent(text[i]!);
    }
  }
  return out;
}
