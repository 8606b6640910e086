#!/usr/bin/env node
// The `ca-rotate` command. Runs the compiled JavaScript in dist/ (`npm run build`). In a checkout
// without a current build it runs the TypeScript through tsx (a devDependency) instead, so a source
// edit never runs stale code.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const compiled = path.join(root, 'dist', 'cli', 'main.js');
const stamp = path.join(root, 'dist', '.build-complete');
const sources = path.join(root, 'src');

/** Newest modification time under `dir`, in ms. */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

function buildIsCurrent() {
  if (!fs.existsSync(compiled) || !fs.existsSync(stamp)) return false;
  return !fs.existsSync(sources) || newestMtime(sources) <= fs.statSync(stamp).mtimeMs;
}

let entry = compiled;
if (!buildIsCurrent()) {
  try {
    require('tsx/cjs');
    entry = path.join(sources, 'cli', 'main.ts');
  } catch {
    process.stderr.write(`ca-rotate: ${compiled} is missing or older than src/: run \`npm run build\`\n`);
    process.exit(1);
  }
}
require(entry)
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
