import { describe, expect, it } from 'vitest';
import { CACHE_CATEGORIES, DEFAULT_TTLS, resolveTtls } from '../../src/cache/categories.js';

describe('category TTLs', () => {
  it('defaults to SPEC', () => {
    expect(DEFAULT_TTLS).toMatchObject({
      workflow_artifacts: 1800, artist_enrichment: 1800, validated_seeds: 3600, popular_mood_cache: 7200,
      id_registry: 2_592_000, id_registry_missing: 604_800, workflow_state: 300, user_profile: 3600,
      top_tracks: 1800, top_artists: 1800, recommendations: 900, mood_analysis: 3600, track_details: 3600,
    });
    expect(CACHE_CATEGORIES).toHaveLength(13);
  });

  it('lets REPRISE_TTL_<CATEGORY> override the default and the option override both', () => {
    const env = { REPRISE_TTL_WORKFLOW_ARTIFACTS: '600', REPRISE_TTL_RECOMMENDATIONS: '60' };
    const ttls = resolveTtls({ recommendations: 30 }, env);
    expect(ttls.workflow_artifacts).toBe(600);
    expect(ttls.recommendations).toBe(30);
    expect(ttls.user_profile).toBe(3600);
  });

  it('rejects unknown categories and non-positive or non-numeric TTLs', () => {
    expect(() => resolveTtls({ bogus: 5 } as never, {})).toThrow(/valid categories/);
    expect(() => resolveTtls({ recommendations: 0 }, {})).toThrow(/ttls.recommendations/);
    expect(() => resolveTtls({}, { REPRISE_TTL_USER_PROFILE: 'soon' })).toThrow(/REPRISE_TTL_USER_PROFILE/);
  });
});
