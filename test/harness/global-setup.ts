/** Fails the whole run on CI when redis-server is missing, before any suite could skip. */
import { findRedisBinaries } from './redis-servers.js';

export default function setup(): void {
  if (process.env.CI === 'true' && !findRedisBinaries()) {
    throw new Error('CI=true but redis-server/redis-cli are not installed: .ci/run must install them');
  }
}
