/**
 * TLS for the tests: a CA and a server certificate for 127.0.0.1 made with openssl, and a second CA that signed
 * nothing of ours (a wrong CA). `startRedisServer({ tls: files })` serves them on a TLS-only port.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** True when openssl is installed. On CI a missing openssl is an error, never a skip. */
export const hasOpenssl: boolean = (() => {
  const found = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
  if (!found && process.env.CI === 'true') throw new Error('openssl not found: CI must install it (.ci/run does so with apt-get)');
  if (!found) console.warn('[reprise tests] openssl not found: the TLS suites are skipped');
  return found;
})();

export interface TlsFiles {
  dir: string;
  /** The CA that signed the server certificate (PEM). */
  ca: string;
  /** A CA that signed nothing the server holds. */
  otherCa: string;
  cert: string;
  key: string;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

/** A CA, a server certificate it signed for IP 127.0.0.1, and an unrelated CA, in a new temp directory. */
export function makeTlsFiles(): TlsFiles {
  const dir = mkdtempSync(path.join(tmpdir(), 'reprise-tls-'));
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ecKey, '-days', '2', '-subj', '/CN=reprise test CA', '-keyout', 'ca.key', '-out', 'ca.crt'], dir);
  openssl(['req', '-x509', ...ecKey, '-days', '2', '-subj', '/CN=reprise unrelated CA', '-keyout', 'other-ca.key', '-out', 'other-ca.crt'], dir);
  openssl(['req', ...ecKey, '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr'], dir);
  // The server certificate names the address clients connect to (Node checks it against the subjectAltName).
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
    '-extfile', 'san.ext', '-out', 'server.crt'], dir);
  return {
    dir,
    ca: path.join(dir, 'ca.crt'),
    otherCa: path.join(dir, 'other-ca.crt'),
    cert: path.join(dir, 'server.crt'),
    key: path.join(dir, 'server.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
