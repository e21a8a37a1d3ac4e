// Small, dependency-free deterministic generators: the mock model's answers, failure dice and
// embedding vectors must be identical on every machine and every run.

/** 32-bit FNV-1a over the UTF-16 code units of `text`. */
export function hash32(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** mulberry32: a seeded PRNG returning floats in [0, 1). */
export function createPrng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'amber', 'river', 'quietly', 'folds', 'the', 'lantern', 'near', 'a', 'silver', 'orchard',
  'model', 'answers', 'with', 'steady', 'light', 'over', 'green', 'hills', 'and', 'small',
  'stones', 'under', 'clear', 'skies', 'where', 'patient', 'birds', 'gather', 'bright', 'maps',
  'of', 'every', 'careful', 'question', 'returns', 'same', 'cached', 'reply', 'today', 'again',
] as const;

/** 8 to 23 words chosen from a fixed vocabulary by a PRNG seeded with `seed`, ending in a period. */
export function wordsFromSeed(seed: number): string {
  const random = createPrng(seed);
  const count = 8 + Math.floor(random() * 16);
  const words: string[] = [];
  for (let index = 0; index < count; index++) {
    words.push(WORDS[Math.floor(random() * WORDS.length)] ?? 'the');
  }
  const text = words.join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

/** A stable text form of a prompt: strings as they are, chat messages as JSON. */
export function promptText(prompt: string | readonly { role: string; content: string }[]): string {
  return typeof prompt === 'string' ? prompt : JSON.stringify(prompt.map(({ role, content }) => [role, content]));
}

/** A unit-length (L2-normalized, as Ollama's `/api/embed` returns) vector derived from `text`. */
export function embeddingFor(text: string, dimensions: number): number[] {
  const random = createPrng(hash32(text));
  const vector = Array.from({ length: dimensions }, () => random() * 2 - 1);
  const norm = Math.hypot(...vector) || 1;
  return vector.map((value) => value / norm);
}
