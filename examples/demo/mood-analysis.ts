/**
 * The demo's mood analysis: rules that turn a mood prompt into target audio features, standing in for the LLM call
 * of a real back end (which takes seconds; the demo waits `latencyMs` to stay honest about the cost it caches).
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface MoodAnalysis {
  moodPrompt: string;
  /** Target audio features, 0..1 except tempo (BPM). */
  targets: { energy: number; valence: number; danceability: number; acousticness: number; instrumentalness: number; tempo: number };
  matchedKeywords: string[];
}

type Targets = MoodAnalysis['targets'];

const NEUTRAL: Targets = { energy: 0.5, valence: 0.5, danceability: 0.5, acousticness: 0.3, instrumentalness: 0.1, tempo: 110 };

const PROFILES: Array<{ words: string[]; targets: Partial<Targets> }> = [
  { words: ['energetic', 'energy', 'workout', 'gym', 'run', 'running', 'motivation', 'pump', 'upbeat'], targets: { energy: 0.9, danceability: 0.7, tempo: 130 } },
  { words: ['happy', 'joy', 'sunny', 'cheerful', 'morning'], targets: { valence: 0.85, energy: 0.65 } },
  { words: ['party', 'dance', 'club', 'vibes'], targets: { danceability: 0.85, energy: 0.8, tempo: 124 } },
  { words: ['calm', 'relaxing', 'relax', 'chill', 'evening', 'sleep', 'rainy'], targets: { energy: 0.25, acousticness: 0.7, tempo: 85 } },
  { words: ['focus', 'concentration', 'study', 'work', 'coding'], targets: { instrumentalness: 0.7, energy: 0.4 } },
  { words: ['sad', 'melancholy', 'blue', 'heartbreak', 'lonely'], targets: { valence: 0.15, energy: 0.3, acousticness: 0.6 } },
  { words: ['romantic', 'intimate', 'love'], targets: { valence: 0.6, energy: 0.35, acousticness: 0.5 } },
  { words: ['late', 'night', 'midnight'], targets: { energy: 0.4, valence: 0.4 } },
];

export async function analyseMood(normalizedMood: string, latencyMs: number, signal?: AbortSignal): Promise<MoodAnalysis> {
  if (latencyMs > 0) await delay(latencyMs, undefined, signal ? { signal } : {});
  const words = new Set(normalizedMood.split(' '));
  const matched = PROFILES.filter((profile) => profile.words.some((word) => words.has(word)));
  const targets = { ...NEUTRAL };
  for (const name of Object.keys(NEUTRAL) as Array<keyof Targets>) {
    const values = matched.map((profile) => profile.targets[name]).filter((value): value is number => value !== undefined);
    if (values.length > 0) targets[name] = round(values.reduce((sum, value) => sum + value, 0) / values.length);
  }
  return {
    moodPrompt: normalizedMood,
    targets,
    matchedKeywords: matched.flatMap((profile) => profile.words.filter((word) => words.has(word))),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
