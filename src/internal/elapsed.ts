/**
 * Milliseconds from `from` to `to`, never negative. An injected clock may jump back (a wall clock
 * set by NTP or by hand); a duration or an age measured across the jump is 0, not minus the jump.
 */
export function elapsedMs(from: number, to: number): number {
  return to > from ? to - from : 0;
}
