// I PROACTIVE: every scheduler tick, asks the model for one proactive suggestion per user, from a
// per-user, per-time-of-day template. Written the way the service's team writes it: plain `ollama`
// client calls, no knowledge of caching. Hand it an optimized client and the recurring prompts
// stop reaching the model.
import type { GenerateRequest, GenerateResponse, Options } from 'ollama';

/** What the service needs of an Ollama client: a plain `Ollama`, or an optimized one. */
export interface ProactiveClient {
  generate(request: GenerateRequest & { stream?: false }): Promise<GenerateResponse>;
}

/** A user as the scheduler sees them at one tick. */
export interface UserContext {
  readonly name: string;
  readonly role: string;
  /** Meetings still ahead today. */
  readonly meetingsLeft: number;
  readonly overdueTasks: number;
  /** What the user said they want to focus on this week. */
  readonly focus: string;
}

export interface Suggestion {
  readonly user: string;
  readonly slot: string;
  readonly text: string;
}

export interface ProactiveServiceOptions {
  readonly client: ProactiveClient;
  /** @default 'llama3.1:8b' */
  readonly model?: string;
  /** Ollama generation options merged over the service's defaults. @default { temperature: 0, num_predict: 96 } */
  readonly options?: Partial<Options>;
}

const SYSTEM = 'You are I PROACTIVE, an assistant that suggests one concrete, useful action. Answer with one sentence.';
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

/** `Monday morning`, `Monday afternoon`, `Monday evening`: the template's time bucket. */
export function timeSlot(date: Date): string {
  const hour = date.getUTCHours();
  const part = hour < 12 ? 'morning' : hour < 17 ? 'afternoon' : 'evening';
  return `${WEEKDAYS[date.getUTCDay()] ?? 'Monday'} ${part}`;
}

export class ProactiveService {
  readonly #client: ProactiveClient;
  readonly #model: string;
  readonly #options: Partial<Options>;

  constructor({ client, model = 'llama3.1:8b', options = {} }: ProactiveServiceOptions) {
    this.#client = client;
    this.#model = model;
    this.#options = { temperature: 0, num_predict: 96, ...options };
  }

  /** The scheduled suggestion for one user at one tick. */
  async suggest(user: UserContext, now: Date): Promise<Suggestion> {
    const slot = timeSlot(now);
    const prompt = `It is ${slot}. ${user.name} (${user.role}) has ${user.meetingsLeft} meetings left today and `
      + `${user.overdueTasks} overdue tasks, and wants to focus on ${user.focus} this week. Suggest one proactive action.`;
    return { user: user.name, slot, text: await this.#generate(prompt) };
  }

  /** One scheduler tick: a suggestion for every user, all at once. */
  runTick(users: readonly UserContext[], now: Date): Promise<Suggestion[]> {
    return Promise.all(users.map((user) => this.suggest(user, now)));
  }

  /** An on-demand request typed by a user ("what should I prepare for the board meeting?"). */
  async ask(user: UserContext, question: string): Promise<Suggestion> {
    const prompt = `${user.name} (${user.role}) asks: ${question} Suggest one proactive action.`;
    return { user: user.name, slot: 'on demand', text: await this.#generate(prompt) };
  }

  async #generate(prompt: string): Promise<string> {
    const request: GenerateRequest & { stream: false } = {
      model: this.#model, system: SYSTEM, prompt, stream: false, keep_alive: '30m', options: this.#options,
    };
    const response = await this.#client.generate(request);
    return (response.response ?? '').trim();
  }
}
