/**
 * Something the machine lacks (a JDK, a Python, a free port). Its message is one line that says what
 * is missing and how to get it; the CLI prints it alone, with no stack trace.
 */
export class PrerequisiteError extends Error {
  override readonly name = 'PrerequisiteError';
}

/** A service that started but did not become healthy in time; the message names its log. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}
