import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    ollama: 'src/ollama.ts',
    http: 'src/http.ts',
    redis: 'src/redis.ts',
    testing: 'src/testing.ts',
    opentelemetry: 'src/opentelemetry.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: false,
  treeshake: true,
});
