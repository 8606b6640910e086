/** How the CLI fails: one clear line on stderr and the exit code of the contract (README). */
import { CaError } from '../ca/errors';

export const EXIT_OK = 0;
export const EXIT_UNEXPECTED = 1;
export const EXIT_REFUSED = 2;

/** A failure the user can act on; `exitCode` is 2 for invalid input or a refusal, 1 for the environment. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_REFUSED,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * A CA backend's failure as one line naming the field: a CA that did not answer (CaUnavailableError)
 * is the environment, exit 1, and says it is transient; a refused conf or request is invalid input, exit 2.
 */
export function caFailureForCli(err: CaError): CliError {
  const line = `${err.path ? `${err.path}: ` : ''}${err.message}`.replace(/\s*\n\s*/g, ' ');
  return err.retryable
    ? new CliError(`${line} (transient: try again once it answers)`, EXIT_UNEXPECTED)
    : new CliError(line, EXIT_REFUSED);
}
