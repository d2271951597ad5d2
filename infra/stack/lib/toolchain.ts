import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PrerequisiteError } from './errors.ts';
import { settings } from '../settings.ts';
import { run } from './process.ts';
import { downloadsDir } from './paths.ts';
import { versions } from '../versions.ts';

/** Finds an executable on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of settings.PATH.split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function jdkMajor(home: string): number | undefined {
  try {
    const release = readFileSync(path.join(home, 'release'), 'utf8');
    const version = /^JAVA_VERSION="([^"]+)"/m.exec(release)?.[1];
    if (version === undefined) return undefined;
    const [first, second] = version.split('.');
    return Number(first === '1' ? second : first);
  } catch {
    return undefined;
  }
}

/**
 * Finds a `java` whose major version lies in [min, max]: first in the service's own JDK setting,
 * then JAVA_HOME, the JDKs under /usr/lib/jvm, and the `java` on PATH.
 */
export function findJava(spec: {
  min: number;
  max: number;
  envVar: 'KAFKA_JAVA_HOME' | 'CASSANDRA_JAVA_HOME' | 'APICURIO_JAVA_HOME';
  neededBy: string;
}): string {
  const homes: string[] = [];
  for (const value of [settings[spec.envVar], settings.JAVA_HOME]) {
    if (value !== undefined) homes.push(value);
  }
  if (existsSync('/usr/lib/jvm')) {
    homes.push(...readdirSync('/usr/lib/jvm').map((entry) => path.join('/usr/lib/jvm', entry)));
  }
  const javaOnPath = onPath('java');
  if (javaOnPath !== undefined) homes.push(path.resolve(realpathSync(javaOnPath), '../..'));
  for (const home of homes) {
    const major = jdkMajor(home);
    const java = path.join(home, 'bin', 'java');
    if (major !== undefined && major >= spec.min && major <= spec.max && existsSync(java)) return java;
  }
  const wanted = spec.min === spec.max ? `Java ${spec.min}` : `Java ${spec.min} to ${spec.max}`;
  throw new PrerequisiteError(
    `${spec.neededBy} needs ${wanted}, and none was found: install one (apt-get install openjdk-${spec.min}-jre-headless, or a Temurin JDK) or set ${spec.envVar} to its home`,
  );
}

/**
 * Finds a Python 3.13 interpreter: PYTHON313, then a pyenv install, then python3.13 on PATH (a pyenv
 * shim there is skipped: it fails unless 3.13 is pyenv's selected version).
 */
export function findPython313(): string | undefined {
  const fromEnv = settings.PYTHON313;
  if (fromEnv !== undefined && existsSync(fromEnv)) return fromEnv;
  const pyenv = path.join(settings.PYENV_ROOT, 'versions');
  const fromPyenv = existsSync(pyenv)
    ? readdirSync(pyenv)
        .filter((v) => /^3\.13\.\d+$/.test(v))
        .map((v) => path.join(pyenv, v, 'bin', 'python3.13'))
        .filter((p) => existsSync(p))
        .sort()
        .at(-1)
    : undefined;
  if (fromPyenv !== undefined) return fromPyenv;
  const fromPath = onPath('python3.13');
  return fromPath?.includes(`${path.sep}shims${path.sep}`) === false ? fromPath : undefined;
}

/** Installs in progress in this process, by target folder. */
const installing = new Map<string, Promise<void>>();

/**
 * Runs `build(target)` unless `target` holds a stamp equal to `stamp`, calling `announce` first so
 * that progress is shown only for real work. The stamp is written last: an interrupted install is
 * redone on the next run instead of being used half-finished. Services start in parallel and some
 * share an install (uv, the Spark venv): a second caller for the same target waits for the first
 * one's install instead of deleting it midway.
 */
export function installOnce(
  target: string,
  stamp: string,
  build: (target: string) => Promise<void>,
  announce: () => void = () => undefined,
): Promise<void> {
  const running = installing.get(target);
  if (running !== undefined) return running;
  const install = (async () => {
    const stampFile = path.join(target, '.installed');
    if (existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp) return;
    announce();
    await rm(target, { recursive: true, force: true });
    await mkdir(target, { recursive: true });
    await build(target);
    await writeFile(stampFile, stamp);
  })().finally(() => installing.delete(target));
  installing.set(target, install);
  return install;
}

let mavenQueue: Promise<unknown> = Promise.resolve();

/** Maven's local repository has no locks: run one Maven download at a time. */
function withMaven<T>(task: () => Promise<T>): Promise<T> {
  const next = mavenQueue.then(task, task);
  mavenQueue = next.catch(() => undefined);
  return next;
}

/** What to download with Maven, for whom, and how to tell the user that it is downloading. */
export interface MavenDownload {
  readonly target: string;
  readonly neededBy: string;
  readonly announce: () => void;
}

function requireMaven(neededBy: string): string {
  const mvn = onPath('mvn');
  if (mvn === undefined) {
    throw new PrerequisiteError(
      `${neededBy} is downloaded with Maven, and mvn is not on PATH: apt-get install maven`,
    );
  }
  return mvn;
}

/**
 * Copies the runtime closure of Maven artifacts (`group:artifact:version`) into `target/libs`, once.
 * The jars come from Maven Central through the machine's Maven settings and its local repository.
 */
export async function fetchMavenClosure(
  download: MavenDownload,
  coordinates: readonly string[],
): Promise<void> {
  const mvn = requireMaven(download.neededBy);
  const dependencies = coordinates.map((c) => {
    const [groupId, artifactId, version] = c.split(':');
    return `<dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version></dependency>`;
  });
  const pom = `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>local.stack</groupId><artifactId>${path.basename(download.target)}</artifactId><version>1</version>
<dependencies>${dependencies.join('')}</dependencies></project>\n`;
  const copy = [
    '-q',
    '-B',
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    '-DoutputDirectory=libs',
  ];
  await withMaven(() =>
    installOnce(
      download.target,
      coordinates.join('\n'),
      async (dir) => {
        await writeFile(path.join(dir, 'pom.xml'), pom);
        await run(mvn, copy, { cwd: dir });
      },
      download.announce,
    ),
  );
}

/** Downloads one Maven artifact (`group:artifact:version:type:classifier`) into `target`, once. */
export async function fetchMavenArtifact(download: MavenDownload, coordinate: string): Promise<string> {
  const mvn = requireMaven(download.neededBy);
  const copy = ['-q', '-B', 'dependency:copy', `-Dartifact=${coordinate}`];
  await withMaven(() =>
    installOnce(
      download.target,
      coordinate,
      (dir) => run(mvn, [...copy, `-DoutputDirectory=${dir}`], { cwd: dir }).then(() => undefined),
      download.announce,
    ),
  );
  const file = readdirSync(download.target).find((f) => !f.startsWith('.'));
  if (file === undefined) throw new Error(`Maven copied nothing for ${coordinate}`);
  return path.join(download.target, file);
}

/**
 * uv, installed once into its own venv under the downloads folder: it makes the stack's Python venvs
 * (LocalStack, Airflow, Spark) in seconds, honours constraints files, and can resolve as of a date.
 */
export async function ensureUv(progress: (message: string) => void): Promise<string> {
  const dir = path.join(downloadsDir, `uv-${versions.uv}`);
  await installOnce(
    dir,
    versions.uv,
    async (target) => {
      await run('python3', ['-m', 'venv', target]);
      await run(path.join(target, 'bin', 'pip'), ['install', '-q', `uv==${versions.uv}`]);
    },
    () => {
      progress(`installing uv ${versions.uv}`);
    },
  );
  return path.join(dir, 'bin', 'uv');
}

/**
 * A Python venv at `target`, made by uv from the `python` interpreter, with `uv pip install -q
 * <pipArgs>` run in it; once per `stamp` (see installOnce). `announce` is called only when it installs.
 */
export async function installPythonVenv(spec: {
  readonly target: string;
  readonly python: string;
  readonly pipArgs: readonly string[];
  readonly stamp: string;
  readonly progress: (message: string) => void;
  readonly announce: () => void;
}): Promise<void> {
  const uv = await ensureUv(spec.progress);
  await installOnce(
    spec.target,
    spec.stamp,
    async (dir) => {
      await run(uv, ['venv', '-q', '-p', spec.python, dir]);
      await run(uv, ['pip', 'install', '-q', ...spec.pipArgs], { env: { ...process.env, VIRTUAL_ENV: dir } });
    },
    spec.announce,
  );
}
