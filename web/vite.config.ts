// Builds the web UI into dist/web, which the control plane serves at "/" (one origin, one port).
// `npm run build` runs it after the server's TypeScript; `npm run dev:web` serves it with hot
// reload and proxies the API to a control plane on RC_DEV_API (default http://127.0.0.1:8080).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const api = process.env.RC_DEV_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    // Monaco's own chunk is several MB; it loads only when a file is opened.
    chunkSizeWarningLimit: 6000,
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/api': { target: api, ws: true }, '/healthz': api },
  },
});
