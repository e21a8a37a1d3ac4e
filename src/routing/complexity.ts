import type { Prompt } from '../types.js';

/**
 * Weights of the complexity score's features. Each feature is in [0, 1]; the score is their
 * weighted sum divided by the sum of the weights, so it is in [0, 1] too.
 */
export interface ComplexityWeights {
  /** Prompt length: 0 for nothing, 1 from about 2000 tokens (8000 characters) on, on a log scale. @default 1 */
  length: number;
  /** Conversation depth: user and assistant turns before this one, 1 from 10 turns on. @default 0.5 */
  depth: number;
  /** Code in the prompt (fences, common keywords and punctuation). @default 1 */
  code: number;
  /** Mathematics in the prompt (equations, operators between numbers, LaTeX, words such as "prove"). @default 1 */
  math: number;
  /** Multi-step instructions (numbered or bulleted lists, "first … then …", "step by step"). @default 1 */
  steps: number;
  /** Tools offered to the model (`params.tools`), 1 from 4 tools on. @default 0.5 */
  tools: number;
  /** Requested output length (`num_predict`, `max_tokens`), 1 from 2000 tokens on. @default 0.5 */
  output: number;
}

export const DEFAULT_WEIGHTS: Readonly<ComplexityWeights> = Object.freeze({
  length: 1, depth: 0.5, code: 1, math: 1, steps: 1, tools: 0.5, output: 0.5,
});

export const FEATURES = Object.keys(DEFAULT_WEIGHTS) as readonly (keyof ComplexityWeights)[];

/** Text scanned for code, math and steps: the last user turn, cut here (the score stays O(1) in the prompt's size). */
const SCAN_CHARS = 2_000;

// Keywords: one non-global test each (it stops at the first match).
const CODE_WORDS = /```|=>|\b(?:function|def|class|return|import|const|let|var|SELECT|public|static|void|#include|console|print)\b/;
const MATH_WORDS = /\\(?:frac|sum|int|sqrt)|\b(?:prove|integral|derivative|equation|solve|theorem|probability|matrix)\b|[∑∫√≤≥]/i;
const STEP_WORDS = /step[- ]by[- ]step|\b(?:first(?:ly)?|then|next|finally|after that)\b/i;

// Global patterns counted up to a saturation point (native scanning: cheaper than a loop over characters in JS).
const PUNCTUATION = /[{};]/g;
const OPERATOR = /\d\s*[-+*/^=<>]\s*\d/g;
const LIST_ITEM = /(?:^|\n)[ \t]*(?:\d+[.)]|[-*\u2022])[ \t]/g;

function matches(pattern: RegExp, text: string, saturate: number): number {
  pattern.lastIndex = 0;
  let n = 0;
  while (n < saturate && pattern.exec(text) !== null) n++;
  return n;
}

/** The score's parts, each in [0, 1] (shown in `status.route.features`). */
export type ComplexityFeatures = Record<keyof ComplexityWeights, number>;

/**
 * The features of one request: cheap (six regex scans of at most 2000 characters, each stopping early, no allocation
 * proportional to the prompt) so that it can run on every routed miss.
 */
export function complexityFeatures(prompt: Prompt, params: Readonly<Record<string, unknown>> | undefined): ComplexityFeatures {
  let chars = 0;
  let turns = 0;
  let last = '';
  if (typeof prompt === 'string') {
    chars = prompt.length;
    last = prompt;
  } else {
    for (const m of prompt) {
      const content = typeof m.content === 'string' ? m.content : '';
      chars += content.length;
      if (m.role === 'user' || m.role === 'assistant') turns++;
      if (m.role === 'user') last = content;
    }
  }
  const scan = last.length > SCAN_CHARS ? last.slice(0, SCAN_CHARS) : last;
  return {
    length: Math.min(1, Math.log1p(chars / 4) / Math.log1p(2_000)),
    depth: Math.min(1, Math.max(0, turns - 1) / 10),
    code: Math.min(1, matches(PUNCTUATION, scan, 6) / 6 + (CODE_WORDS.test(scan) ? 0.5 : 0)),
    math: Math.min(1, matches(OPERATOR, scan, 3) / 3 + (MATH_WORDS.test(scan) ? 0.5 : 0)),
    steps: Math.min(1, matches(LIST_ITEM, scan, 3) / 3 + (STEP_WORDS.test(scan) ? 0.4 : 0)),
    tools: Math.min(1, toolCount(params) / 4),
    output: Math.min(1, requestedOutput(params) / 2_000),
  };
}

/** The weighted mean of the features, in [0, 1]. */
export function complexityScore(features: ComplexityFeatures, weights: Readonly<ComplexityWeights>): number {
  let sum = 0;
  let total = 0;
  for (const f of FEATURES) {
    sum += weights[f] * features[f];
    total += weights[f];
  }
  return total === 0 ? 0 : sum / total;
}

function toolCount(params: Readonly<Record<string, unknown>> | undefined): number {
  const tools = params?.['tools'];
  return Array.isArray(tools) ? tools.length : 0;
}

/** `num_predict` (Ollama, top level or in `options`), `max_tokens` / `max_completion_tokens` (OpenAI-style). */
function requestedOutput(params: Readonly<Record<string, unknown>> | undefined): number {
  if (params === undefined) return 0;
  const options = params['options'];
  const nested = typeof options === 'object' && options !== null ? (options as Record<string, unknown>)['num_predict'] : undefined;
  for (const value of [nested, params['num_predict'], params['max_tokens'], params['max_completion_tokens']]) {
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  }
  return 0;
}
