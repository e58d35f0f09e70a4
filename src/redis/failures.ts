/**
 * The failure vocabulary of every Redis call. Two families, told apart because only one is an outage:
 * - the call was not answered (Redis is unreachable, stopped making progress, or this call waited its longest);
 * - Redis answered with an error that concerns this call only (a wrong-type key, a full server, a script error).
 * Only the first family ever opens the circuit; the second is counted by reason and answered by the call's fallback.
 */

/** Errors Redis replies with, by what they say about the call. */
export const REPLY_ERROR_REASONS = ['wrongtype', 'oom', 'script', 'noscript', 'readonly', 'other'] as const;
export type ReplyErrorReason = (typeof REPLY_ERROR_REASONS)[number];

/**
 * Why a call went unanswered:
 * - `no_redis`: none is configured (memory only);
 * - `unavailable`: not sent, the connection is down or the circuit open;
 * - `connection`: the connection failed under the call;
 * - `stalled`: Redis stopped making progress (no reply of any kind while this process was free to read one);
 * - `wait_limit`: Redis kept answering others, but this call waited `redisMaxWaitMs` (busy, not down).
 */
export const UNANSWERED_REASONS = ['no_redis', 'unavailable', 'connection', 'stalled', 'wait_limit'] as const;
export type UnansweredReason = (typeof UNANSWERED_REASONS)[number];

export type FailureReason = UnansweredReason | ReplyErrorReason;

/** True when Redis did reply (with an error): it is alive, and a write may follow. */
export function isReplyErrorReason(reason: FailureReason): reason is ReplyErrorReason {
  return (REPLY_ERROR_REASONS as readonly string[]).includes(reason);
}

/** Reasons that count as Redis failing (logged, counted as errors); `no_redis` and `unavailable` are not errors. */
export const COUNTED_REASONS = ['connection', 'stalled', 'wait_limit', ...REPLY_ERROR_REASONS] as const;
export type CountedReason = (typeof COUNTED_REASONS)[number];

/** True for an error Redis sent as its reply (ioredis's ReplyError), as opposed to a failure to get one. */
export function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}

/** What a reply error says about the call, from its first word. */
export function replyErrorReason(error: Error): ReplyErrorReason {
  const code = /^[A-Z]+/.exec(error.message)?.[0] ?? '';
  switch (code) {
    case 'WRONGTYPE':
      return 'wrongtype';
    case 'OOM':
      return 'oom';
    case 'NOSCRIPT':
      return 'noscript';
    case 'READONLY':
      return 'readonly';
    default:
      // Lua errors: "ERR Error running script ...", "ERR user_script:3: ...", "ERR Error compiling script".
      return /script/i.test(error.message) ? 'script' : 'other';
  }
}

/** How a failed command is classified: its reason, and whether it tells anything about Redis being down. */
export function classifyError(error: unknown): { reason: CountedReason; outage: boolean } {
  if (isReplyError(error)) return { reason: replyErrorReason(error), outage: false };
  return { reason: 'connection', outage: true };
}

export function emptyReasonCounts(): Record<CountedReason, number> {
  return Object.fromEntries(COUNTED_REASONS.map((reason) => [reason, 0])) as Record<CountedReason, number>;
}
