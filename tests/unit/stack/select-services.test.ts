import { describe, expect, it } from 'vitest';
import { PrerequisiteError } from '../../../infra/stack/lib/errors.js';
import { findJava } from '../../../infra/stack/lib/toolchain.js';
import { services } from '../../../infra/stack/services/index.js';
import { selectServices } from '../../../infra/stack/stack.js';

describe('selectServices', () => {
  it('picks every service when none is named', () => {
    expect(selectServices().map((s) => s.name)).toEqual([
      'postgres',
      'kafka',
      'registry',
      'cassandra',
      'aws',
      'randomuser',
      'airflow-scheduler',
      'airflow-dag-processor',
      'airflow',
    ]);
  });

  it('adds what a named service depends on: the registry keeps its schemas in PostgreSQL', () => {
    expect(selectServices(['registry']).map((s) => s.name)).toEqual(['postgres', 'registry']);
  });

  it('rejects an unknown name with the list of known ones', () => {
    expect(() => selectServices(['zookeeper'])).toThrow(
      new PrerequisiteError(
        "unknown service 'zookeeper': the stack has postgres, kafka, registry, cassandra, aws, randomuser, airflow-scheduler, airflow-dag-processor, airflow",
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
