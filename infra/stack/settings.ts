import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { PrerequisiteError } from './lib/errors.ts';

const optionalPath = z.string().min(1).optional();

const Settings = z.object({
  /** Moves the stack home (the one git-ignored folder), default `<repo>/.local`. */
  STACK_HOME: optionalPath,
  /** Which AWS emulator to run: LocalStack when Python 3.13 exists (auto), or force one. */
  STACK_AWS_EMULATOR: z.enum(['auto', 'localstack', 'moto']).default('auto'),
  /** Cassandra's heap, as the JVM spells it. */
  CASSANDRA_HEAP: z
    .string()
    .regex(/^\d+[mMgG]$/, 'a JVM size such as 768M or 1G')
    .default('1G'),
  /** Partitions of the users topic: the sink's and Spark's parallelism. The bootstrap grows the topic to it. */
  USERS_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  /** Folder of the PostgreSQL server binaries (pg_ctl, initdb), when not Debian's. */
  PG_BIN: optionalPath,
  /** A Python 3.13 interpreter for LocalStack, when not found by itself. */
  PYTHON313: optionalPath,
  PYENV_ROOT: z.string().min(1).default(path.join(os.homedir(), '.pyenv')),
  /** JDK homes per service, when the one found by itself will not do. */
  KAFKA_JAVA_HOME: optionalPath,
  CASSANDRA_JAVA_HOME: optionalPath,
  APICURIO_JAVA_HOME: optionalPath,
  JAVA_HOME: optionalPath,
  PATH: z.string().default(''),
});

/** The stack's settings from the environment, read once, validated; a bad value names its variable. */
export type StackSettings = z.infer<typeof Settings>;

function load(): StackSettings {
  const parsed = Settings.safeParse(process.env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PrerequisiteError(
      `environment variable ${String(issue?.path[0])}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return Object.freeze(parsed.data);
}

export const settings = load();
