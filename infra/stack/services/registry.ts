import { readdirSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { endpoints } from '../endpoints.ts';
import { downloadsDir } from '../lib/paths.ts';
import { run } from '../lib/process.ts';
import { fetchMavenArtifact, findJava, installOnce } from '../lib/toolchain.ts';
import { ProcessService, type Progress } from '../service.ts';
import { versions } from '../versions.ts';

const { port, managementPort } = endpoints.registry;
const db = endpoints.postgres.registry;

/**
 * Apicurio Registry 3, serving the Confluent-compatible API at /apis/ccompat/v7. It keeps schemas
 * in the stack's PostgreSQL (database `registry`), so that registered schemas and their ids survive
 * a restart; the default in-memory storage would forget them and hand out new ids.
 */
class RegistryService extends ProcessService {
  readonly name = 'registry';
  readonly summary = `Apicurio Registry ${versions.apicurio} from Maven Central (Java 21+), schemas kept in PostgreSQL`;
  readonly ports = [port, managementPort];
  override readonly dependsOn = ['postgres'];
  override readonly startTimeoutMs = 120_000;
  private readonly install = path.join(downloadsDir, `apicurio-registry-${versions.apicurio}`);
  private readonly app = path.join(this.install, 'app');

  private java(): string {
    return findJava({ min: 21, max: 99, envVar: 'APICURIO_JAVA_HOME', neededBy: 'Apicurio Registry 3' });
  }

  checkPrerequisites(): Promise<void> {
    this.java();
    return Promise.resolve();
  }

  async provision(progress: Progress): Promise<void> {
    const coordinate = `io.apicurio:apicurio-registry-app:${versions.apicurio}:tar.gz:all`;
    const archive = await fetchMavenArtifact(
      {
        target: `${this.install}-archive`,
        neededBy: 'Apicurio Registry',
        announce: () => {
          progress('fetching the registry distribution from Maven Central');
        },
      },
      coordinate,
    );
    await installOnce(this.install, coordinate, async (dir) => {
      const unpacked = path.join(dir, 'unpacked');
      await mkdir(unpacked);
      await run('tar', ['-xzf', archive, '-C', unpacked]);
      const runner = findFile(unpacked, 'quarkus-run.jar');
      if (runner === undefined) throw new Error(`no quarkus-run.jar in ${archive}`);
      await rename(path.dirname(runner), this.app);
      await rm(unpacked, { recursive: true, force: true });
    });
  }

  protected command(): Promise<{ command: string; args: string[]; env: NodeJS.ProcessEnv }> {
    return Promise.resolve({
      command: this.java(),
      args: ['-Xms128m', '-Xmx384m', '-jar', path.join(this.app, 'quarkus-run.jar')],
      env: {
        QUARKUS_HTTP_HOST: '127.0.0.1',
        QUARKUS_HTTP_PORT: String(port),
        // Quarkus's management interface (health, metrics) would listen on *:9000.
        QUARKUS_MANAGEMENT_HOST: '127.0.0.1',
        QUARKUS_MANAGEMENT_PORT: String(managementPort),
        APICURIO_STORAGE_KIND: 'sql',
        APICURIO_STORAGE_SQL_KIND: 'postgresql',
        APICURIO_DATASOURCE_URL: `jdbc:postgresql://${endpoints.postgres.host}:${endpoints.postgres.port}/${db.database}`,
        APICURIO_DATASOURCE_USERNAME: db.user,
        APICURIO_DATASOURCE_PASSWORD: db.password,
      },
    });
  }

  /** Healthy once the Confluent-compatible API lists subjects (which reads the storage). */
  async isHealthy(): Promise<boolean> {
    const response = await fetch(`${endpoints.registry.url}/subjects`, { signal: AbortSignal.timeout(2000) });
    return response.ok;
  }
}

/** The first file called `name` below `dir`, depth first. */
function findFile(dir: string, name: string): string | undefined {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const found = entry.isDirectory() ? findFile(full, name) : entry.name === name ? full : undefined;
    if (found !== undefined) return found;
  }
  return undefined;
}

export const registry = new RegistryService();
