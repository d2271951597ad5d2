import { servicePaths, type ServicePaths } from './lib/paths.ts';
import { readOwnedPid, removePidFile, spawnDetached, stopProcess } from './lib/process.ts';

/** Prints one line of progress for a service. */
export type Progress = (message: string) => void;

/**
 * One service of the native local stack. Every service has the same shape, so that adding one
 * (Spark, Airflow) means adding one module and listing it in `services/index.ts`.
 */
export interface StackService {
  /**
   * A `process` runs in the background until stopped. A `task` has no process of its own: `up` runs
   * it to completion after its dependencies are healthy (the local stage's bootstrap), and it is
   * healthy while what it made is there.
   */
  readonly kind: 'process' | 'task';
  readonly name: string;
  /** One line for `status` and the README: what it is and where it comes from. */
  readonly summary: string;
  /** TCP ports on 127.0.0.1 it listens on; the first is the one clients use. */
  readonly ports: readonly number[];
  /** Services that must be healthy before this one starts. */
  readonly dependsOn: readonly string[];
  /** How long a start may take before it counts as failed. */
  readonly startTimeoutMs: number;
  readonly paths: ServicePaths;
  /** The files `stack logs` shows. */
  readonly logFiles: readonly string[];
  /** Checks what the machine must have, changing nothing. Throws a PrerequisiteError. */
  checkPrerequisites(): Promise<void>;
  /** Downloads or installs what it runs, once (cached under the stack home). */
  provision(progress: Progress): Promise<void>;
  /**
   * Starts it in the background; returns once the process is launched, not when healthy. A task
   * runs here to completion.
   */
  start(progress: Progress): Promise<void>;
  /** One real health probe: true only when clients can use it. */
  isHealthy(): Promise<boolean>;
  /** The pid of our running process, or undefined. */
  pid(): Promise<number | undefined>;
  /** Stops it and waits until the process is gone. */
  stop(): Promise<void>;
  /** Runs after each healthy `up` (idempotent): creates roles, databases and such. */
  initialize?(): Promise<void>;
  /** Extra facts for `status`, such as which AWS emulator runs and why. */
  describe?(): Promise<string>;
}

/**
 * Base for a service that is one long-running process we launch ourselves (a JVM, a Python app):
 * the pid file, the ownership check and the stop sequence live here.
 */
export abstract class ProcessService implements StackService {
  readonly kind = 'process';
  abstract readonly name: string;
  abstract readonly summary: string;
  abstract readonly ports: readonly number[];
  readonly dependsOn: readonly string[] = [];
  readonly startTimeoutMs: number = 120_000;
  /** How long a SIGTERM gets before SIGKILL. */
  protected readonly stopGraceMs: number = 30_000;

  private cachedPaths: ServicePaths | undefined;

  get paths(): ServicePaths {
    this.cachedPaths ??= servicePaths(this.name);
    return this.cachedPaths;
  }

  get logFiles(): readonly string[] {
    return [this.stdoutLog];
  }

  /** Where the process's own stdout and stderr go. */
  get stdoutLog(): string {
    return `${this.paths.logs}/stdout.log`;
  }

  abstract checkPrerequisites(): Promise<void>;
  abstract provision(progress: Progress): Promise<void>;
  abstract isHealthy(): Promise<boolean>;
  /** The command that runs the service in the foreground. */
  protected abstract command(): Promise<{ command: string; args: string[]; env?: NodeJS.ProcessEnv }>;

  async start(): Promise<void> {
    const { command, args, env } = await this.command();
    await spawnDetached({
      command,
      args,
      env: { ...process.env, ...env },
      cwd: this.paths.root,
      logFile: this.stdoutLog,
      pidFile: this.paths.pidFile,
    });
  }

  pid(): Promise<number | undefined> {
    return readOwnedPid(this.paths.pidFile, this.paths.root);
  }

  async stop(): Promise<void> {
    const pid = await this.pid();
    if (pid !== undefined) await stopProcess(pid, this.stopGraceMs);
    await removePidFile(this.paths.pidFile);
  }
}
