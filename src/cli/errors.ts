/**
 * A failure the operator can act on, said in one sentence: main prints the message alone (never a stack trace)
 * and exits with the code.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
