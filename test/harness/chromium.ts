/**
 * Headless Chromium for the browser tests: Debian's `chromium`, driven by playwright-core, which downloads no browser.
 * Each launch gets a fresh profile (playwright-core makes a temporary user data dir). On CI a missing chromium is an
 * error, never a skip (.ci/run installs it with apt-get).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** True when chromium is installed. */
export const hasChromium: boolean = (() => {
  const found = existsSync(CHROMIUM_PATH);
  if (!found && process.env.CI === 'true') {
    throw new Error(`chromium not found at ${CHROMIUM_PATH}: CI must install it (.ci/run does so with apt-get)`);
  }
  if (!found) console.warn('[reprise tests] chromium not found: the browser tests are skipped');
  return found;
})();

/** Flags for a root user on a machine without network: no sandbox, no GPU, nothing phoning home. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}
