/** GET /cache/stats as text for a terminal: the headline figures, then the categories that were read. */

interface TierFigures {
  hits: number;
  misses: number;
}
interface CategoryFigures extends TierFigures {
  memory: TierFigures;
  redis: TierFigures;
}

export function percent(hits: number, misses: number): string {
  return hits + misses === 0 ? '-' : `${((hits / (hits + misses)) * 100).toFixed(1)}%`;
}

export function formatStats(stats: Record<string, unknown>): string {
  const features = (stats.features ?? {}) as Record<string, unknown>;
  const moods = (stats.popularMoods ?? {}) as { total?: number; cached?: number };
  const registry = (stats.idRegistry ?? {}) as { validated?: number; missing?: number; apiCallsAvoided?: number; missingMarks?: { inFilters?: number } };
  // Marks in Bloom filters are counted by estimate: the total says so.
  const missing = `${(registry.missingMarks?.inFilters ?? 0) > 0 ? '≈' : ''}${registry.missing ?? 0}`;
  const categories = Object.entries((stats.categories ?? {}) as Record<string, CategoryFigures>);
  const hits = Number(stats.hits ?? 0);
  const misses = Number(stats.misses ?? 0);

  const redisDown = features.redis === true && stats.cacheType !== 'redis';
  const backend = stats.cacheType === 'redis'
    ? `redis (${features.redisMode ?? 'standalone'}, ${features.redisTarget ?? 'target unknown'})`
    : redisDown ? `memory (Redis unavailable: ${features.redisTarget ?? 'target unknown'})` : 'memory only';

  const lines = [
    `backend        ${backend}`,
    `hit ratio      ${percent(hits, misses)} (${hits} hits, ${misses} misses)`,
    `popular moods  ${moods.cached ?? 0} of ${moods.total ?? 0} precomputed`,
    `ID registry    ${registry.validated ?? 0} validated, ${missing} missing, ${registry.apiCallsAvoided ?? 0} upstream calls avoided`,
  ];
  const read = categories.filter(([, figures]) => figures.hits + figures.misses > 0);
  if (read.length > 0) {
    const width = Math.max(...read.map(([name]) => name.length), 'category'.length);
    lines.push('', `${'category'.padEnd(width)}  overall  memory   redis    reads`);
    for (const [name, figures] of read) {
      lines.push([
        name.padEnd(width),
        percent(figures.hits, figures.misses).padEnd(7),
        percent(figures.memory.hits, figures.memory.misses).padEnd(7),
        percent(figures.redis.hits, figures.redis.misses).padEnd(7),
        String(figures.hits + figures.misses),
      ].join('  '));
    }
  }
  return lines.join('\n');
}
