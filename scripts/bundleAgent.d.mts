/** Types for scripts/bundleAgent.mjs, so TypeScript tests can call it. */
export function bundleAgent(options?: {
  outDir?: string;
  minify?: boolean;
}): Promise<{ entry: string; bytes: number }>;
