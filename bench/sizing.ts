/**
 * `npm run bench:sizing [-- --users=300 --registry-ids=20000]`: what reprise's entries cost in Redis, measured on
 * the demo's own values, to size `maxmemory`. The demo back end (examples/demo, ReccoBeats simulator, upstream
 * waits at 0) runs on a redis-server this script starts on a free loopback port (never 6379):
 *   1. `--users` users each ask for one playlist (a personal mood prompt): mood analysis, top tracks, ID conversion,
 *      audio features, seeds, workflow artifacts, recommendations;
 *   2. the 10 popular moods are warmed;
 *   3. the ID registry is filled with `--registry-ids` validated mappings, then as many known-missing IDs
 *      (bench/registry-footprint.ts), for its cost at scale.
 * After steps 1 and 2 every key's MEMORY USAGE (and PTTL) is read and grouped by what it holds, and the server's
 * used_memory growth is read as a whole. Writes bench/results/sizing.json and .md, with an example sizing.
 */
import { Redis } from 'ioredis';
import { startDemo } from '../examples/demo/server.js';
import { DEFAULT_POPULAR_MOODS } from '../src/moods/defaults.js';
import { startBenchRedis } from './lib/bench-redis.js';
import { markdownTable } from './lib/format.js';
import { byGroup, keyUsage, usedMemory, type GroupUsage } from './lib/key-usage.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { writeResults } from './lib/results.js';
import { measureFootprint } from './registry-footprint.js';

function option(name: string, fallback: number): number {
  const given = process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  const value = given === undefined ? fallback : Number(given);
  if (!Number.isInteger(value) || value < 10) throw new Error(`--${name} must be a whole number >= 10, got ${given}`);
  return value;
}

const USERS = option('users', 300);
const REGISTRY_IDS = option('registry-ids', 20_000);
const KEY_PREFIX = 'sizing:';
/** Personal prompts (none of them a popular mood), spread over the users. */
const PROMPTS = [
  'rainy sunday coding', 'sunny morning run', 'late night study session', 'heartbreak on a train', 'calm evening reading',
  'gym pump hour', 'road trip singalong', 'focus for deep work', 'lazy beach afternoon', 'midnight city drive',
  'dinner party jazz', 'cleaning the flat', 'cold winter walk', 'first date nerves', 'sunday brunch',
  'exam cramming', 'yoga and stretching', 'gaming marathon', 'melancholy autumn', 'happy friday commute',
];
/**
 * The example of README "Sizing Redis": users with a playlist each within the TTLs, the distinct tracks whose audio
 * features they brought, the registry's IDs (30 days), popular moods.
 */
const EXAMPLE = { users: 10_000, tracks: 100_000, registryIds: 300_000, missingShare: 0.25, moods: 10 };

const machine = describeMachine();
const server = await startBenchRedis();
const client = new Redis(server.url, { lazyConnect: false });
const demo = await startDemo({ redisUrl: server.url, keyPrefix: KEY_PREFIX, warmSchedule: false, latencyScale: 0, quiet: true, env: {} });
console.log(`bench:sizing on ${machineLine(machine)}: ${USERS} users, ${DEFAULT_POPULAR_MOODS.length} popular moods, ${REGISTRY_IDS} registry IDs per kind`);

const sumOf = (groups: GroupUsage[], names: readonly string[]) =>
  groups.filter((group) => names.includes(group.group)).reduce((sum, group) => sum + group.bytes, 0);

let data: Record<string, unknown>;
let body: string;
try {
  const baseline = await usedMemory(client);

  // 1. Users, four requests in flight at a time.
  let next = 0;
  const ask = async () => {
    for (let user = next++; user < USERS; user = next++) {
      const response = await fetch(`${demo.url}/api/playlists`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: `user-${user}`, moodPrompt: PROMPTS[user % PROMPTS.length] }),
      });
      if (!response.ok) throw new Error(`playlist for user-${user}: HTTP ${response.status}`);
      await response.arrayBuffer();
    }
  };
  await Promise.all([ask(), ask(), ask(), ask()]);
  const afterUsers = await usedMemory(client);
  const userKeys = await keyUsage(client, KEY_PREFIX);
  const userGroups = byGroup(userKeys);
  const registry = await demo.reprise.idRegistry.stats();

  // 2. The popular moods.
  const warm = await demo.reprise.popularMoods.warm({});
  if (warm.failed > 0) throw new Error(`warming failed for ${warm.failed} mood(s)`);
  const afterMoods = await usedMemory(client);
  const allGroups = byGroup(await keyUsage(client, KEY_PREFIX));
  const moods = DEFAULT_POPULAR_MOODS.length;
  const popularEntry = allGroups.find((group) => group.group === 'popular_mood_cache')!;

  await demo.close();

  // 3. The registry at scale (it empties the server first).
  const footprint = await measureFootprint(server, REGISTRY_IDS);

  // Per-unit figures, from the keys' own usage.
  const perUserGroups = ['top_tracks', 'workflow_artifacts', 'workflow_artifacts (recent prompts)', 'validated_seeds', 'recommendations'];
  const registryEntries = registry.validated + registry.missing;
  const registryBytes = sumOf(userGroups, ['id_registry (meta)', 'id_registry (buckets)']);
  const perUser = {
    topTracks: sumOf(userGroups, ['top_tracks']) / USERS,
    workflow: sumOf(userGroups, perUserGroups.slice(1)) / USERS,
    ownKeys: sumOf(userGroups, perUserGroups) / USERS,
    allKeys: userGroups.reduce((sum, group) => sum + group.bytes, 0) / USERS,
    usedMemory: (afterUsers - baseline) / USERS,
  };
  const perMood = { entry: popularEntry.meanBytes, usedMemory: (afterMoods - afterUsers) / moods };
  const perThousandIds = {
    demo: (registryBytes / Math.max(1, registryEntries)) * 1_000,
    validated: footprint.mapping.bytesPerEntry * 1_000,
    missing: footprint.missingBloom.bytesPerEntry * 1_000,
    missingExact: footprint.missingExact.bytesPerEntry * 1_000,
  };
  // What the server holds beyond the keys' own MEMORY USAGE (its key and expiry tables), as a factor.
  const overhead = (afterUsers - baseline) / Math.max(1, userGroups.reduce((sum, group) => sum + group.bytes, 0));
  const perTrack = userGroups.find((group) => group.group === 'track_details')!.meanBytes;
  const exampleRegistry = EXAMPLE.registryIds * ((1 - EXAMPLE.missingShare) * footprint.mapping.bytesPerEntry + EXAMPLE.missingShare * footprint.missingBloom.bytesPerEntry);
  const exampleParts = {
    users: overhead * EXAMPLE.users * perUser.ownKeys,
    tracks: overhead * EXAMPLE.tracks * perTrack,
    registry: exampleRegistry,
    moods: EXAMPLE.moods * perMood.usedMemory,
  };
  const exampleBytes = Object.values(exampleParts).reduce((sum, part) => sum + part, 0);
  const keysWithoutTtl = allGroups.reduce((sum, group) => sum + group.keysWithoutTtl, 0);

  data = {
    users: USERS, moods, registryIds: REGISTRY_IDS, baselineUsedMemory: baseline,
    afterUsers: { usedMemory: afterUsers, groups: userGroups, registry: { validated: registry.validated, missing: registry.missing } },
    afterMoods: { usedMemory: afterMoods, groups: allGroups },
    registryAtScale: footprint,
    perUser, perMood, perThousandIds, keysWithoutTtl,
    overhead, perTrack,
    example: { ...EXAMPLE, parts: exampleParts, bytes: exampleBytes },
  };

  const kb = (bytes: number) => `${(bytes / 1_000).toFixed(2)} KB`;
  const mb = (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`;
  const groupTable = markdownTable(
    ['keys of', 'keys', 'bytes per key (mean)', 'median', 'max', 'all keys', 'without TTL'],
    allGroups.map((group) => [group.group, String(group.keys), group.meanBytes.toFixed(0), String(group.medianBytes), String(group.maxBytes), kb(group.bytes), String(group.keysWithoutTtl)]),
  );
  const unitTable = markdownTable(
    ['unit', 'measured', 'original estimate'],
    [
      ["a user's top tracks (30 Spotify IDs)", kb(perUser.topTracks), '50 KB'],
      ["a user's workflow (artifacts, recent prompts, seeds, recommendations)", kb(perUser.workflow), '100 KB'],
      ['a track\'s audio features (track_details)', kb(perTrack), ''],
      ['1,000 IDs in the registry: validated mappings (both directions), at scale', kb(perThousandIds.validated), '10 KB'],
      ['1,000 IDs in the registry: known-missing IDs in Bloom filters (the default), at scale', kb(perThousandIds.missing), '10 KB'],
      ["1,000 IDs in the registry: known-missing IDs with `missing: 'exact'`, at scale", kb(perThousandIds.missingExact), '10 KB'],
      [`1,000 IDs in the registry: the demo's ${registryEntries} (${registry.missing} missing)`, kb(perThousandIds.demo), '10 KB'],
      ['a popular mood (its popular_mood_cache entry)', kb(perMood.entry), '200 KB'],
      ['a popular mood, all it adds (used_memory growth of the warm, per mood)', kb(perMood.usedMemory), ''],
      ['a user, everything their first playlist added (used_memory growth per user)', kb(perUser.usedMemory), ''],
      ['the same, the sum of MEMORY USAGE of the keys it added', kb(perUser.allKeys), ''],
    ],
  );
  const example = [
    `Example: ${EXAMPLE.users.toLocaleString('en')} users with a playlist each within the TTLs (30 min to 1 h), ${EXAMPLE.tracks.toLocaleString('en')} distinct tracks`,
    `with audio features (1 h), a registry of ${EXAMPLE.registryIds.toLocaleString('en')} IDs (30 days, ${EXAMPLE.missingShare * 100} % known missing), ${EXAMPLE.moods} popular moods.`,
    `The keys' own usage times ${overhead.toFixed(2)} (used_memory growth over the keys' MEMORY USAGE, for the server's key and expiry tables):`,
    `${overhead.toFixed(2)} × (${EXAMPLE.users.toLocaleString('en')} × ${kb(perUser.ownKeys)} + ${EXAMPLE.tracks.toLocaleString('en')} × ${kb(perTrack)}) + ${mb(exampleRegistry)} + ${EXAMPLE.moods} × ${kb(perMood.usedMemory)}`,
    `= ${mb(exampleParts.users)} + ${mb(exampleParts.tracks)} + ${mb(exampleParts.registry)} + ${mb(exampleParts.moods)} = **${mb(exampleBytes)}** of used_memory.`,
  ].join('\n');
  body = [
    `Keys after ${USERS} users' first playlists and a warm of ${moods} popular moods (MEMORY USAGE ... SAMPLES 0):`,
    '',
    groupTable,
    '',
    `used_memory: ${baseline} before, +${afterUsers - baseline} after the users, +${afterMoods - afterUsers} after the warm. Keys without a TTL: ${keysWithoutTtl}.`,
    '',
    unitTable,
    '',
    example,
  ].join('\n');
} finally {
  await demo.close().catch(() => undefined);
  client.disconnect();
  await server.destroy();
}

console.log(`\n${body}`);
const written = writeResults('sizing', 'reprise: Redis memory per entry', machine, 'npm run bench:sizing', data, body);
console.log(`\nwrote ${written.markdown} and ${written.json}`);
