/**
 * TLS to Redis (`rediss://`): the certificate authorities to trust, read once at start, and what a failed handshake
 * means in words an operator can act on. Nothing here ever holds or prints a password.
 */
import { readFileSync } from 'node:fs';
import { RepriseOptionsError } from '../errors.js';

/** Reads a PEM file of CA certificates; a file that cannot be read or holds none is a RepriseOptionsError. */
export function readCaFile(file: string, option: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new RepriseOptionsError('invalid_value', option, `${option}: cannot read the CA file ${file} (${code})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new RepriseOptionsError('invalid_value', option, `${option}: ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return text;
}

/** Node's codes for a server certificate it does not trust. */
const UNTRUSTED_CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)/;

/**
 * What a connection error says about the TLS setup, or null when it is about something else (a refused or dropped
 * connection is an outage like any other). An untrusted certificate or a handshake that failed will not heal by
 * retrying: it is a configuration mistake, worth a warning rather than a debug line.
 */
export function tlsProblem(error: unknown): string | null {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return null;
  const message = error instanceof Error ? error.message : '';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the Redis server's TLS certificate does not name the host redisUrl connects to (${message})`;
  }
  if (UNTRUSTED_CERTIFICATE.test(code)) {
    return `the Redis server's TLS certificate is not trusted (${code}: ${message}); redisTlsCaFile (REDIS_TLS_CA_FILE) must name the CA that signed it`;
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return `the TLS handshake with Redis failed (${code}: ${message}); does that port speak TLS (rediss://) or plain (redis://)?`;
  }
  return null;
}
