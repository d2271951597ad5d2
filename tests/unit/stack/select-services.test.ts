import { describe, expect, it } from 'vitest';
import { PrerequisiteError } from '#infra/stack/lib/errors.ts';
import { findJava } from '#infra/stack/lib/toolchain.ts';
import { services } from '#infra/stack/services/index.ts';
import { selectServices } from '#infra/stack/stack.ts';

describe('selectServices', () => {
  it('picks every service when none is named', () => {
    expect(selectServices().map((s) => s.name)).toEqual([
      'postgres',
      'kafka',
      'registry',
      'cassandra',
      'aws',
      'randomuser',
      'bootstrap',
      'airflow-scheduler',
      'airflow-dag-processor',
      'airflow',
      'spark-master',
      'spark-worker',
      'spark-job',
    ]);
  });

  it('brings Airflow and the Spark job up with everything they need', () => {
    expect(selectServices(['airflow']).map((s) => s.name)).toEqual([
      'postgres',
      'kafka',
      'registry',
      'cassandra',
      'aws',
      'bootstrap',
      'airflow-scheduler',
      'airflow-dag-processor',
      'airflow',
    ]);
    expect(selectServices(['spark-job']).map((s) => s.name)).toEqual([
      'postgres',
      'kafka',
      'registry',
      'cassandra',
      'aws',
      'bootstrap',
      'spark-master',
      'spark-worker',
      'spark-job',
    ]);
  });

  it('adds what a named service depends on: the registry keeps its schemas in PostgreSQL', () => {
    expect(selectServices(['registry']).map((s) => s.name)).toEqual(['postgres', 'registry']);
  });

  it('runs the bootstrap after any up that names a service it needs, with the rest it needs', () => {
    const forUp = (names: string[]): string[] =>
      selectServices(names, { withTasks: true }).map((s) => s.name);
    // A restarted AWS emulator forgot the bucket, the secret and the queues: the bootstrap puts them back.
    expect(forUp(['aws'])).toEqual(['postgres', 'kafka', 'registry', 'cassandra', 'aws', 'bootstrap']);
    expect(forUp(['registry'])).toEqual(['postgres', 'kafka', 'registry', 'cassandra', 'aws', 'bootstrap']);
    // Nothing the bootstrap needs: no bootstrap.
    expect(forUp(['spark-worker'])).toEqual(['spark-master', 'spark-worker']);
    expect(forUp(['randomuser'])).toEqual(['randomuser']);
  });

  it('rejects an unknown name with the list of known ones', () => {
    expect(() => selectServices(['zookeeper'])).toThrow(
      new PrerequisiteError(
        "unknown service 'zookeeper': the stack has postgres, kafka, registry, cassandra, aws, randomuser, " +
          'bootstrap, airflow-scheduler, airflow-dag-processor, airflow, spark-master, spark-worker, spark-job',
      ),
    );
  });
});

describe('the services', () => {
  it('bind distinct ports', () => {
    const ports = services.flatMap((s) => s.ports);
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('depend only on services of the stack', () => {
    const names = new Set(services.map((s) => s.name));
    expect(services.flatMap((s) => s.dependsOn).filter((d) => !names.has(d))).toEqual([]);
  });
});

describe('findJava', () => {
  it('says in one line which Java is missing and how to get it', () => {
    const attempt = (): string =>
      findJava({ min: 98, max: 99, envVar: 'APICURIO_JAVA_HOME', neededBy: 'Something' });
    expect(attempt).toThrow(PrerequisiteError);
    expect(attempt).toThrow(
      /^Something needs Java 98 to 99, and none was found: .* set APICURIO_JAVA_HOME to its home$/,
    );
  });

  it('finds the Java 17 that Cassandra 5.0 runs on', () => {
    expect(findJava({ min: 17, max: 17, envVar: 'CASSANDRA_JAVA_HOME', neededBy: 'Cassandra' })).toMatch(
      /\/bin\/java$/,
    );
  });
});
