#!/usr/bin/env node
// Installed entry point: runs the TypeScript CLI through tsx, so no build step is needed.
require('tsx/cjs');
const { main } = require('../src/cli/main.ts');
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
