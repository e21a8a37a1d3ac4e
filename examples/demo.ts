// `npm run demo`: drives I PROACTIVE and I MATCH through the engine against real Ollama when it
// answers (OLLAMA_HOST, DEMO_MODEL, DEMO_EMBED_MODEL), otherwise against the bundled tiny GGUF model
// on a loopback Ollama-compatible server; progress on stderr, the report on stdout.
// DEMO_SIZE=small runs a shorter workload (useful with a CPU-only Ollama, where a miss takes seconds).
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderDashboardHtml } from '../src/http.js';
import { connectDemoTarget, type DemoTarget } from './demo/target.js';
import { runDemo, type DEMO_SIZES, type DemoResult } from './demo/workload.js';
import { buildReport, findings, formatReport } from './demo/report.js';

export { runDemo, DEMO_SIZES } from './demo/workload.js';
export type { DemoModels, DemoResult, DemoSize, RunDemoOptions } from './demo/workload.js';
export { buildReport, findings, formatReport } from './demo/report.js';
export type { DemoReport, ServiceReport, ServiceResult } from './demo/report.js';
export { connectDemoTarget, startLoopbackTarget } from './demo/target.js';
export type { DemoTarget } from './demo/target.js';

function sizeFrom(value: string | undefined): keyof typeof DEMO_SIZES {
  if (value === undefined || value === '') return 'full';
  if (value === 'small' || value === 'full') return value;
  throw new RangeError(`\`DEMO_SIZE\` must be 'small' or 'full', received ${JSON.stringify(value)}`);
}

/** Loads the models before the measured workload, as a service does at startup. */
async function warmUp(target: DemoTarget, log: (line: string) => void): Promise<void> {
  const started = performance.now();
  await target.client.generate({ model: target.model, prompt: 'Hello', stream: false, options: { num_predict: 1 } });
  await target.embedClient.embed({ model: target.embedModel, input: 'Hello' });
  log(`models loaded in ${((performance.now() - started) / 1000).toFixed(1)} s (warm-up, not part of the figures)`);
}

/** Writes the dashboard of both services as one HTML file (`DEMO_HTML`, or a file in the temporary folder); returns its path. */
export async function writeHtmlReport(result: DemoResult, file?: string): Promise<string> {
  const services = [
    { title: 'I PROACTIVE', data: result.proactive.dashboard ?? {} },
    { title: 'I MATCH', data: result.match.dashboard ?? {} },
  ];
  const target = path.resolve(file === undefined || file === '' ? path.join(tmpdir(), `llm-optimization-engine-demo-${process.pid}.html`) : file);
  await writeFile(target, renderDashboardHtml(services, { title: 'llm-optimization-engine demo report' }));
  return target;
}

async function main(): Promise<void> {
  const log = (line: string): void => { process.stderr.write(`${line}\n`); };
  const size = sizeFrom(process.env['DEMO_SIZE']);
  const target = await connectDemoTarget(process.env, log);
  try {
    log(`model: ${target.label}`);
    for (const note of target.notes) log(`note: ${note}`);
    await warmUp(target, log);
    const result = await runDemo({ target, size, log });
    const report = buildReport(result);
    const out = [
      '',
      `== llm-optimization-engine demo report (${size} workload, ${(result.wallMs / 1000).toFixed(1)} s) ==`,
      `model: ${target.label}`,
      ...target.notes.map((note) => `note: ${note}`),
      '',
      formatReport(report),
      '',
      'What each engine found (engine.getOptimizationReport()):',
      ...findings('I PROACTIVE', result.proactive.report),
      ...findings('I MATCH', result.match.report),
      '',
      'What the model said (first answers):',
      ...result.samples.map((sample) => `  ${sample}`),
      '',
      'How these are measured: hits, coalesced calls, calls that reached the model (engine), the engine estimate, anomalies and',
      'the score come from each engine\'s getOptimizationReport() (the total\'s score by the same formula, 70 + 30 x (hits +',
      'coalesced) rate - min(30, 10 x anomalies)); every miss either joined a call in flight or reached the model, so the misses',
      'by cause add up to those two; requests, tokens and Ollama\'s timings are metered on both sides of the optimized client',
      '(the server sees fewer requests than the engine\'s model calls when embeds are batched; model busy time saved =',
      'total_duration - load_duration of the answers served minus of those the model computed; the engine estimate is the',
      "duration of the model call that produced each answer, including its wait in the model server's own queue).",
    ];
    const html = await writeHtmlReport(result, process.env['DEMO_HTML']);
    out.push('', `The same figures as charts (the dashboard's panels, one self-contained file): ${html}`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await target.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
