import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    ollama: 'src/ollama.ts',
    openai: 'src/openai.ts',
    'ai-sdk': 'src/ai-sdk.ts',
    http: 'src/http.ts',
    redis: 'src/redis.ts',
    testing: 'src/testing.ts',
    langchain: 'src/langchain.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: false,
  treeshake: true,
});
