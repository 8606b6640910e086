#!/usr/bin/env node
// Second half of `npm run build`: bundles the compiled workflow code (dist/workflows) once, so a
// worker started from dist/ loads dist/workflow-bundle.js instead of bundling at every start.
const fs = require('node:fs');
const { bundleRotationWorkflows, PREBUILT_BUNDLE } = require('../dist/worker');
const { errorMessage } = require('../dist/mesh/errors');

bundleRotationWorkflows().then(
  ({ code, sourceMap }) => {
    fs.writeFileSync(PREBUILT_BUNDLE.codePath, code);
    fs.writeFileSync(PREBUILT_BUNDLE.sourceMapPath, sourceMap);
    process.stdout.write(`build: ${PREBUILT_BUNDLE.codePath} (${Math.round(code.length / 1024)} KiB)\n`);
  },
  (error) => {
    process.stderr.write(`build: cannot bundle the workflow code: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);
