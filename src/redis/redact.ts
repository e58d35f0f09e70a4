/** Hides credentials in Redis URLs and in any text that may carry one (error messages, log lines). */

// Any scheme: a mistyped `http://:secret@host` must be hidden as well as a redis:// one. Greedy up to the last '@'
// of the word, so a password holding '/' or '@' is hidden whole.
const CREDENTIALS_IN_URL = /([a-z][a-z0-9+.-]*:\/\/)([^\s,]*)@/gi;

/** `redis://user:secret@host:6379` -> `redis://user:***@host:6379`; works on comma-separated lists too. */
export function redactRedisUrl(text: string): string {
  return text.replace(CREDENTIALS_IN_URL, (_match, scheme: string, userInfo: string) => {
    const colon = userInfo.indexOf(':');
    const user = colon === -1 ? '' : userInfo.slice(0, colon);
    return `${scheme}${user}:***@`;
  });
}

/** Redacts URLs and any known secret occurring verbatim in a message. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let redacted = redactRedisUrl(text);
  for (const secret of secrets) {
    if (secret) redacted = redacted.split(secret).join('***');
  }
  return redacted;
}

/**
 * For texts of unknown origin shown to operators (an upstream error a warm run met): besides URL credentials, the
 * values of Authorization schemes and of query-string parameters, where tokens and API keys travel.
 */
export function redactCredentials(text: string): string {
  return redactRedisUrl(text)
    .replace(/\b(Bearer|Basic|Token)\s+[^\s,;"']+/gi, '$1 ***')
    .replace(/([?&][^=\s&#?]+=)[^\s&#"']+/g, '$1***');
}
