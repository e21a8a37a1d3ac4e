import type { TokenUsage, Prompt } from '../types.js';
import type { ComplexityFeatures } from './complexity.js';
import type { RouteStrategy } from './routing-options.js';

/** Why a call went to the tier that answered it. */
export type RouteReason =
  /** Rules: the score was at or below the threshold (small) or above it (large). */
  | 'score'
  /** Cascade: the small tier's answer was confident enough (or passed `check`). */
  | 'confident'
  /** Cascade: the small tier reported no log-probabilities and there is no `check`: its answer stands. */
  | 'no-signal'
  /** Cascade: escalated because the mean or a token log-probability was below the threshold. */
  | 'low-confidence'
  /** Cascade: escalated because `check` returned false or threw. */
  | 'check'
  /** Cascade: escalated because the small tier failed. */
  | 'error'
  /** Cascade: escalated because the small tier's answer was truncated (not complete). */
  | 'truncated'
  /** An experiment's variant named the tier. */
  | 'variant';

/** `status.route`: what the router did with one call (a miss; a hit does not route). */
export interface RouteDecision {
  /** The logical model the call named. */
  route: string;
  strategy: RouteStrategy;
  /** The model that produced the answer. */
  tier: string;
  reason: RouteReason;
  /** Cascade: the large tier was asked after the small one. */
  escalated: boolean;
  /** A tier was down (circuit open, or it failed): the other one answered, or the small answer was kept uncached. */
  degraded: boolean;
  /** The threshold used: of the score (rules) or of the mean log-probability (cascade, negative). */
  threshold: number;
  /** Rules: the complexity score in [0, 1] and its features. */
  score?: number;
  features?: ComplexityFeatures;
  /** Cascade: the small tier's token log-probabilities, when it reported them. */
  confidence?: { meanLogprob: number; minLogprob: number; tokens: number };
}

/** What one tier run collects from `exec` through its context. */
export interface TierRun {
  readonly usage: TokenUsage;
  logprobs: number[] | undefined;
}

/** How the call path runs one tier: `exec` through the throttle, that model's circuit and retries. */
export type RunTier<T> = (model: string, run: TierRun, wantLogprobs: boolean) => Promise<T>;

/** What the router needs from the call path for one call. */
export interface RoutedCall<T> {
  readonly prompt: Prompt;
  readonly params: Readonly<Record<string, unknown>> | undefined;
  readonly signal: AbortSignal;
  readonly isComplete: (value: T) => boolean;
  readonly runTier: RunTier<T>;
  /** An experiment's override: a fixed threshold, or a fixed tier. */
  readonly override?: RouteOverride | undefined;
}

/** What an experiment's variant may change about routing. */
export interface RouteOverride {
  /** A fixed threshold (rules: score; cascade: mean log-probability), instead of the route's or the calibrated one. */
  threshold?: number;
  /** Always this tier. */
  tier?: 'small' | 'large';
}

export interface RoutedResult<T> {
  value: T;
  /** False for a low-confidence small answer served only because the large tier was down: not cached. */
  cacheable: boolean;
  decision: RouteDecision;
  usage: TokenUsage;
}

/** Circuit state and failure classification, from the engine's self-healing. */
export interface TierHealth {
  isOpen(model: string): boolean;
  isFailure(error: unknown): boolean;
}

export interface RouterEvents {
  escalate(route: string, from: string, to: string, reason: RouteReason): void;
  decide(decision: RouteDecision): void;
}
