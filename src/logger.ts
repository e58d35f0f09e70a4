/** The logger reprise writes to: any object with these methods (console, pino and winston all fit). */
export interface Logger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

const ignore = (): void => {};

/** Default: warnings and errors to the console, prefixed; debug and info are dropped. */
export const consoleLogger: Logger = {
  debug: ignore,
  info: ignore,
  warn: (message, ...details) => console.warn(`[reprise] ${message}`, ...details),
  error: (message, ...details) => console.error(`[reprise] ${message}`, ...details),
};

export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
