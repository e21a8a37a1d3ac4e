import { fileURLToPath } from 'node:url';

/**
 * Path of the GGUF model committed with the repository (`models/stories260K.gguf`, see
 * `models/README.md`). Repository-local: the npm package ships only `dist`, so users of
 * `createLlamaCppBackend` pass their own `modelPath`.
 */
export const bundledModelPath = fileURLToPath(new URL('../../models/stories260K.gguf', import.meta.url));
