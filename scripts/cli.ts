/** What every command-line entry point (`npm run …`) shares: a line of output, and how a command ends. */

/** Prints one line of progress or result on stdout. */
export const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** Whether the command line asks for the usage: `--help` or `-h` anywhere in its arguments. */
export const helpRequested = (argv: readonly string[] = process.argv.slice(2)): boolean =>
  argv.some((arg) => arg === '--help' || arg === '-h');

/** What runMain needs besides `main`: the usage, and how the command ends. */
export interface MainOptions {
  /** Printed for `--help`, which exits 0 before `main` runs: every entry point answers it. */
  readonly usage: string;
  readonly stack?: boolean;
  readonly keepAlive?: boolean;
}

/**
 * Runs a command's `main` and ends the process with the code it returns (0 when it returns no number).
 * `--help` prints the usage and exits 0 without running `main`: after every import has loaded, before
 * any work, so that asking for help also shows that the command starts (tests/unit/scripts). A failure
 * prints `<name>: <message>` on stderr and exits 1: a person acts on the message. With `stack`, the
 * stack trace is printed too (the benchmarks: their failures are bugs to chase). With `keepAlive`, the
 * code is only set and the process ends when its last handle closes (the demo with `--keep` waits
 * for Ctrl-C); otherwise it exits at once, whatever sockets a client left open.
 */
export function runMain(name: string, main: () => Promise<unknown>, options: MainOptions): void {
  if (helpRequested()) {
    say(options.usage.trimEnd());
    process.exit(0);
  }
  main().then(
    (code) => {
      const exitCode = typeof code === 'number' ? code : 0;
      if (options.keepAlive === true) process.exitCode = exitCode;
      else process.exit(exitCode);
    },
    (error: unknown) => {
      const text =
        error instanceof Error
          ? options.stack === true
            ? (error.stack ?? error.message)
            : error.message
          : String(error);
      process.stderr.write(`${name}: ${text}\n`);
      process.exit(1);
    },
  );
}
