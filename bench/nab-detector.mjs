// NAB detector wrapper around the BUILT package (run `npx tsup` first). Options given to the
// scorer with `--opt key=value` reach createAnomalyDetector unchanged, e.g. (NAB_HOME: the folder
// holding the NAB tools, which are not part of this repository)
//   node $NAB_HOME/tools/nab/nab-eval.mjs --split dev -d bench/nab-detector.mjs
//   node $NAB_HOME/tools/nab/nab-eval.mjs --split dev -d bench/nab-detector.mjs --opt method=seed-3sigma
import { createAnomalyDetector } from '../dist/index.js';

export function createDetector(options = {}) {
  const detector = createAnomalyDetector(options);
  return {
    push(value, timestampMs) {
      return detector.observe(value, timestampMs).isAnomaly;
    },
  };
}
