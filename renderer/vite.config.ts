import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

const here = fileURLToPath(new URL('.', import.meta.url))

/**
 * The renderer app. Web mode serves the build under /app/ (the token loader
 * lives at /); the desktop shell loads the same build. `PARLEY_WEB` points the
 * dev server's /api and /sip at a running `parley serve --web` for `vite dev`.
 */
export default defineConfig({
  root: here,
  base: '/app/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Served from the local peer or the app package, never over a network: one chunk is fine.
    chunkSizeWarningLimit: 1024
  },
  server: process.env.PARLEY_WEB
    ? { proxy: { '/api': { target: process.env.PARLEY_WEB, ws: true }, '/sip': { target: process.env.PARLEY_WEB, ws: true } } }
    : {}
})
