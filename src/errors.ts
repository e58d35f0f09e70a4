/**
 * reprise's two base errors; every error it throws about what a caller gave it is one of them (both are TypeErrors).
 *
 * - RepriseOptionsError: an option is wrong: one given when something is created (createReprise, createCache, the
 *   ReccoBeats client, the simulator...), an environment variable standing for one, or a setting of a call's options
 *   object (`ttlSeconds`, `acrossWorkers`). `code` says what kind of mistake (OPTION_ERROR_CODES), `option` which
 *   option, as a dotted path (`memory.maxEntries`, `reccobeats.baseUrl`). Thrown at start, before anything is opened
 *   where possible. RedisUrlError, WarmScheduleError and ComputeNotConfiguredError are RepriseOptionsErrors.
 * - RepriseInputError: what a call works on is wrong: a key, a value, a category, an ID, a mood, a warm request.
 *   `details` holds machine-readable fields (`field`, `index`, `validCategories`...). jsonErrorHandler answers any
 *   RepriseInputError with 400 `{ error: message, ...details }`, so a route can hand its input straight to the
 *   engine. InvalidKeyError, EncodeError (UnsupportedValueError), UnknownCategoryError, InvalidIdError and
 *   InvalidRecommendationsError are RepriseInputErrors.
 */

/** What kind of mistake a RepriseOptionsError reports. */
export const OPTION_ERROR_CODES = [
  /** A name the options object does not take (the message suggests the closest one). */
  'unknown_option',
  /** An option something needs was not given (e.g. computeRecommendations, for warming). */
  'missing_option',
  /** A value of the wrong kind: a string where a function goes, a list that is not one, an options value that is not an object. */
  'invalid_type',
  /** A number outside its range: not positive, not whole, below its minimum or above its maximum. */
  'out_of_range',
  /** A value of the right kind that cannot be used: a key prefix with spaces, a mood with no words, an unknown time zone. */
  'invalid_value',
  /** redisUrl (REDIS_URL) or reccobeats.baseUrl is not a usable URL. */
  'invalid_url',
  /** warmSchedule (REPRISE_WARM_CRON) is not a valid cron expression. */
  'invalid_cron',
  /** Two options that cannot go together (redis and redisUrl; a lock renewed no sooner than it expires). */
  'conflicting_options',
] as const;

export type OptionErrorCode = (typeof OPTION_ERROR_CODES)[number];

/** A wrong option: `code` says what is wrong, `option` names it ('' for the options object itself). */
export class RepriseOptionsError extends TypeError {
  override name = 'RepriseOptionsError';
  readonly code: OptionErrorCode;
  readonly option: string;

  constructor(code: OptionErrorCode, option: string, message: string) {
    super(message);
    this.code = code;
    this.option = option;
  }
}

export interface RepriseInputErrorOptions extends ErrorOptions {
  /** Machine-readable fields for the client (never the input itself when it may be secret or long). */
  details?: Record<string, unknown>;
}

/** Wrong input to a call; `details` are the fields jsonErrorHandler adds to its 400 answer. */
export class RepriseInputError extends TypeError {
  override name = 'RepriseInputError';
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, options: RepriseInputErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details ?? {};
  }
}
