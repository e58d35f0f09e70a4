/**
 * How alike two normalised mood prompts are: the Jaccard overlap of their word sets, ignoring filler words.
 * "happy and energetic" vs "happy energetic workout" share 2 of 3 words: 0.67.
 */

/** Prompts at least this alike reuse each other's workflow artifacts (`similar: true`). */
export const DEFAULT_SIMILARITY_THRESHOLD = 0.5;

const FILLER_WORDS = new Set([
  'a', 'an', 'and', 'the', 'for', 'to', 'of', 'with', 'in', 'on', 'at', 'my', 'me', 'i', 'some', 'something',
  'music', 'songs', 'song', 'playlist', 'tracks', 'vibe', 'vibes', 'mood', 'feel', 'feeling', 'please',
]);

export function moodTokens(normalizedPrompt: string): Set<string> {
  const words = normalizedPrompt.split(' ').filter(Boolean);
  const meaningful = words.filter((word) => !FILLER_WORDS.has(word));
  // A prompt made only of filler words still has to compare with something.
  return new Set(meaningful.length > 0 ? meaningful : words);
}

export function moodSimilarity(a: string, b: string): number {
  const left = moodTokens(a);
  const right = moodTokens(b);
  let shared = 0;
  for (const token of left) if (right.has(token)) shared += 1;
  const union = left.size + right.size - shared;
  return union === 0 ? 0 : shared / union;
}
