/** Builds the web app into web/dist, which natter serves at `/` (src/transport/http/routes/web.ts). */
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Keep the page self-contained: no inline modulepreload polyfill (CSP has no 'unsafe-inline').
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: { '/api': 'http://localhost:8080', '/ws': { target: 'ws://localhost:8080', ws: true } },
  },
});
