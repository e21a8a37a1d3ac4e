// Makes the trace files the policy simulator reads from the ARC paper's traces (see README.md).
// Run once by hand: `node bench/traces/extract.mjs <folder holding OLTP.lis.gz and P3.lis.gz>`.
// Nothing reads the original folder at bench or test time.
import { createReadStream, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { gzipSync, createGunzip } from 'node:zlib';
import { P3_SAMPLE_RATE, sampled } from './sampling.mjs';

async function* expanded(file) {
  const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const line of lines) {
    const [start, count] = line.trim().split(/\s+/).map(Number);
    if (!Number.isInteger(start) || !Number.isInteger(count)) continue;
    for (let k = start; k < start + count; k++) yield k;
  }
}

/** One key a line, each written as its difference from the previous key (small numbers compress well). */
async function write(source, out, keep) {
  let previous = 0;
  let text = '';
  let kept = 0;
  for await (const key of source) {
    if (!keep(key)) continue;
    text += `${key - previous}\n`;
    previous = key;
    kept++;
  }
  writeFileSync(out, gzipSync(text, { level: 9 }));
  return kept;
}

const from = process.argv[2] ?? '.';
const here = new URL('.', import.meta.url).pathname;
console.log('OLTP', await write(expanded(join(from, 'OLTP.lis.gz')), join(here, 'oltp.keys.gz'), () => true));
console.log('P3 sampled', await write(expanded(join(from, 'P3.lis.gz')), join(here, 'p3-sampled.keys.gz'), (k) => sampled(k, P3_SAMPLE_RATE)));
