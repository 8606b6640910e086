/** The workflows this project's worker registers (the bundle entry point). */
export { caRotationWorkflow } from './rotation';
