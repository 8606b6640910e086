/** How the CLI fails: one clear line on stderr and the exit code of the contract (README). */
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

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
