import { describe, expect, it } from 'vitest';
import {
  InvalidIdError,
  assertReccobeatsId,
  assertSpotifyId,
  packReccobeatsId,
  packSpotifyId,
  unpackReccobeatsId,
  unpackSpotifyId,
} from '../../src/registry/ids.js';
import {
  MISSING_REASONS,
  decodeForward,
  decodeReverse,
  encodeForward,
  encodeReverse,
  expiryFor,
  missingReasonOf,
} from '../../src/registry/entries.js';
import { RegistryLayout, SHARD_COUNT } from '../../src/registry/layout.js';
import { sampleIds } from '../../bench/registry-footprint.js';

describe('registry IDs', () => {
  it('packs a Spotify ID into 17 bytes and back, for every character and the extremes', () => {
    const ids = ['4uLU6hMCjMI75M1A2tKUQC', '0000000000000000000000', 'ZZZZZZZZZZZZZZZZZZZZZZ', 'abcdefghijklmnopqrstuv', 'ABCDEFGHIJKLMNOPQRSTUV', ...sampleIds(200, 3).spotify];
    for (const id of ids) {
      const packed = packSpotifyId(id);
      expect(packed).toHaveLength(17);
      expect(unpackSpotifyId(packed)).toBe(id);
    }
    expect(new Set(ids.map((id) => packSpotifyId(id).toString('hex'))).size).toBe(new Set(ids).size);
  });

  it('packs a ReccoBeats UUID into 16 bytes and returns it in lower case', () => {
    const id = '3F2B8C1E-9A4D-4E6F-8B1A-2C3D4E5F6A7B';
    const packed = packReccobeatsId(id);
    expect(packed).toHaveLength(16);
    expect(unpackReccobeatsId(packed)).toBe(id.toLowerCase());
  });

  it('rejects what is not an ID with an error that names the kind and shows the input safely', () => {
    expect(() => assertSpotifyId('4uLU6hMCjMI75M1A2tKUQ')).toThrow(InvalidIdError);
    expect(() => assertSpotifyId('4uLU6hMCjMI75M1A2tKUQ!')).toThrow(/not a Spotify track ID.*"4uLU6hMCjMI75M1A2tKUQ!"/);
    expect(() => assertSpotifyId(42)).toThrow(/not a Spotify track ID.*number/);
    expect(() => assertSpotifyId('x'.repeat(500))).toThrow(/x{60}…"$/);
    expect(() => assertReccobeatsId('3f2b8c1e9a4d4e6f8b1a2c3d4e5f6a7b')).toThrow(/not a ReccoBeats ID/);
    expect(() => assertReccobeatsId('3f2b8c1e-9a4d-4e6f-8b1a-2c3d4e5f6a7b')).not.toThrow();
  });
});

describe('registry entries', () => {
  const now = Date.parse('2026-03-01T12:00:00.250Z');

  it('encodes each kind in its own length, with the expiry in whole seconds rounded up', () => {
    const expiresAtMs = expiryFor(now, 30);
    expect(expiresAtMs).toBe(Date.parse('2026-03-01T12:00:31Z'));
    const validated = encodeForward({ kind: 'validated', reccobeatsId: '3f2b8c1e-9a4d-4e6f-8b1a-2c3d4e5f6a7b', expiresAtMs });
    const missing = encodeForward({ kind: 'missing', reason: 'invalid', expiresAtMs });
    const reverse = encodeReverse({ spotifyId: '4uLU6hMCjMI75M1A2tKUQC', expiresAtMs });
    expect([validated.length, missing.length, reverse.length]).toEqual([20, 5, 21]);
    expect(decodeForward(validated)).toEqual({ kind: 'validated', reccobeatsId: '3f2b8c1e-9a4d-4e6f-8b1a-2c3d4e5f6a7b', expiresAtMs });
    expect(decodeForward(missing)).toEqual({ kind: 'missing', reason: 'invalid', expiresAtMs });
    expect(decodeReverse(reverse)).toEqual({ spotifyId: '4uLU6hMCjMI75M1A2tKUQC', expiresAtMs });
  });

  it('treats bytes it did not write as absent', () => {
    expect(decodeForward(Buffer.from('hello'))).toBeNull();
    expect(decodeForward(Buffer.from([0, 0, 0, 1, 99]))).toBeNull();
    expect(decodeReverse(Buffer.alloc(20))).toBeNull();
  });

  it('keeps known missing reasons, files anything else under "other" and defaults to not_found', () => {
    expect(MISSING_REASONS).toContain('not_found');
    expect(missingReasonOf(undefined)).toBe('not_found');
    expect(missingReasonOf('unavailable')).toBe('unavailable');
    expect(missingReasonOf('absent from response')).toBe('other');
    expect(() => missingReasonOf(7 as never)).toThrow(/reason is a string/);
  });
});

describe('registry layout', () => {
  it('spreads IDs evenly over the shards and keeps every key of a shard in one slot under the prefix', () => {
    const layout = new RegistryLayout('reprise:');
    const perShard = new Array(SHARD_COUNT).fill(0);
    for (const id of sampleIds(16_000, 11).spotify) perShard[layout.shardOf(packSpotifyId(id)).index] += 1;
    expect(Math.min(...perShard)).toBeGreaterThan(800);
    expect(Math.max(...perShard)).toBeLessThan(1_200);
    const shard = layout.shards[5]!;
    expect(shard.metaKey).toBe('reprise:id_registry:{5}meta');
    expect(layout.bucketKey(shard, 's', 12)).toBe('reprise:id_registry:{5}s12');
  });
});
