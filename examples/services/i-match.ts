// I MATCH: scores candidate/role pairs with a JSON-answering prompt at temperature 0, and embeds
// profiles for similarity search. Written the way the service's team writes it: plain `ollama`
// client calls. Recruiters refresh their dashboards all day, so the same pairs are scored again and
// again: hand it an optimized client and each pair reaches the model once.
import type { ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, Options } from 'ollama';

/** What the service needs of an Ollama client for embeddings: a plain `Ollama`, or an optimized one. */
export interface EmbedClient {
  embed(request: EmbedRequest): Promise<EmbedResponse>;
}

/** What the service needs of an Ollama client: a plain `Ollama`, or an optimized one. */
export interface MatchClient extends EmbedClient {
  chat(request: ChatRequest & { stream?: false }): Promise<ChatResponse>;
}

export interface Candidate {
  readonly id: string;
  readonly name: string;
  readonly years: number;
  readonly skills: readonly string[];
}

export interface Role {
  readonly id: string;
  readonly title: string;
  readonly requirements: readonly string[];
}

export interface PairScore {
  readonly candidate: string;
  readonly role: string;
  /** 0–100, or null when the model's answer held no score. */
  readonly score: number | null;
  readonly reason: string;
}

export interface MatchServiceOptions {
  /** Client for scoring (`chat`). */
  readonly client: MatchClient;
  /** Client for `embed` (the team runs embeddings on a separate host). @default client */
  readonly embedClient?: EmbedClient;
  /** @default 'llama3.1:8b' */
  readonly model?: string;
  /** @default model */
  readonly embedModel?: string;
  /** Ollama options merged over the scoring defaults. @default { temperature: 0, num_predict: 128 } */
  readonly options?: Partial<Options>;
}

const SYSTEM = 'You rate how well a candidate fits a role. Reply only with JSON: {"score": <0-100>, "reason": "<one sentence>"}.';

export function candidateProfile(candidate: Candidate): string {
  return `${candidate.name}: ${candidate.years} years of experience; skills: ${candidate.skills.join(', ')}.`;
}

export function roleProfile(role: Role): string {
  return `${role.title}; requires: ${role.requirements.join(', ')}.`;
}

/** The score from the model's answer: its JSON when it is JSON, else the first number in it. */
export function parseScore(text: string): { score: number | null; reason: string } {
  try {
    const parsed = JSON.parse(text) as { score?: unknown; reason?: unknown };
    if (typeof parsed.score === 'number') {
      return { score: clampScore(parsed.score), reason: typeof parsed.reason === 'string' ? parsed.reason : '' };
    }
  } catch {
    // Not JSON: fall through to the lenient reading below.
  }
  const number = /\b(\d{1,3})\b/.exec(text)?.[1];
  return { score: number === undefined ? null : clampScore(Number(number)), reason: text.trim() };
}

const clampScore = (value: number): number => Math.min(100, Math.max(0, Math.round(value)));

export class MatchService {
  readonly #client: MatchClient;
  readonly #embedClient: EmbedClient;
  readonly #model: string;
  readonly #embedModel: string;
  readonly #options: Partial<Options>;

  constructor({ client, embedClient = client, model = 'llama3.1:8b', embedModel = model, options = {} }: MatchServiceOptions) {
    this.#client = client;
    this.#embedClient = embedClient;
    this.#model = model;
    this.#embedModel = embedModel;
    this.#options = { temperature: 0, num_predict: 128, ...options };
  }

  async scorePair(candidate: Candidate, role: Role): Promise<PairScore> {
    const response = await this.#client.chat({
      model: this.#model,
      format: 'json',
      stream: false,
      options: this.#options,
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: `Candidate: ${candidateProfile(candidate)}\nRole: ${roleProfile(role)}` },
      ],
    });
    return { candidate: candidate.id, role: role.id, ...parseScore(response.message.content) };
  }

  /** Scores every candidate against every role, all at once (a recruiter's dashboard refresh). */
  scoreAll(candidates: readonly Candidate[], roles: readonly Role[]): Promise<PairScore[]> {
    return Promise.all(roles.flatMap((role) => candidates.map((candidate) => this.scorePair(candidate, role))));
  }

  /** One embedding per profile text, one request per profile. */
  async embedProfile(text: string): Promise<number[]> {
    const response = await this.#embedClient.embed({ model: this.#embedModel, input: text });
    const vector = response.embeddings[0];
    if (vector === undefined) throw new Error(`No embedding returned for ${JSON.stringify(text.slice(0, 40))}`);
    return vector;
  }
}
