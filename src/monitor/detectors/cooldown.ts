/** Alerts at most once per `cooldownPoints + 1` points, so that one event raises one alert. */
export class Cooldown {
  readonly #points: number;
  #lastAlert = Number.NEGATIVE_INFINITY;

  constructor(points: number) {
    this.#points = points;
  }

  /** Whether an alert at point `seen` may fire; if it may, the cooldown starts there. */
  fire(seen: number): boolean {
    if (seen - this.#lastAlert <= this.#points) return false;
    this.#lastAlert = seen;
    return true;
  }

  reset(): void {
    this.#lastAlert = Number.NEGATIVE_INFINITY;
  }
}
