#!/usr/bin/env node
// Entry point for `npx berthd`: the compiled daemon lives in ../dist (built by `npm install`).
import { main } from '../dist/main.js';

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`berthd: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
