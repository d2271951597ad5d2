/**
 * Every version the native local stack installs, in one place. Change a version here and the next
 * `stack up` provisions it into a fresh folder (the folder name carries the version), leaving data alone.
 */
export const versions = {
  /** Kafka broker jars from Maven Central (4.4.0's kafka-tools-api jar is missing there). */
  kafka: '4.3.1',
  /** The Kafka POM carries no slf4j binding: without one the broker logs nothing. */
  log4j: '2.25.3',
  /** `cassandra-all` from Maven Central, run on Java 17. */
  cassandra: '5.0.9',
  /** `apicurio-registry-app` (tar.gz, classifier `all`) from Maven Central; needs Java 21+. */
  apicurio: '3.3.3',
  /** The last LocalStack release that starts without an auth token; needs Python 3.13. */
  localstack: '4.14.0',
  /** LocalStack's dependencies are unpinned: resolve them as of its release day. */
  localstackResolvedAsOf: '2026-02-27',
  /** Fallback AWS emulator where no Python 3.13 exists. */
  moto: '5.2.5',
  /** Installs LocalStack's venv; it honours --exclude-newer, which pip lacks. */
  uv: '0.13.9',
  /** Airflow's venv installs airflow/requirements.txt under airflow/constraints.txt; this names it. */
  airflow: '3.3.2',
  /**
   * pyspark (from spark/requirements.txt, whose pin must match) is the Spark 3.5 distribution the master,
   * worker and job run from. The Spark 3.5 connectors on Maven Central stop at 3.5.7.
   */
  spark: '3.5.7',
  /** The Cassandra connector exists for Spark 3.5 only (none for Spark 4). */
  sparkCassandraConnector: '3.5.1',
  /** Lints the CloudFormation templates (infra/aws, and the packaged aws stage) in `npm test`. */
  cfnLint: '1.58.0',
  /** cfn-lint's dependencies are unpinned: resolve them as of a fixed day after its release. */
  cfnLintResolvedAsOf: '2026-11-01',
  /**
   * `npm run cql`: the PyPI cqlsh that packages Cassandra 5.0.5's cqlshlib, the first to support Python
   * 3.13 (3.10–3.14), so it runs on whichever python3 the machine has.
   */
  cqlsh: '6.2.2',
  /** cqlsh's dependencies (cassandra-driver, wcwidth, pure-sasl) are unpinned: resolve them as of this day. */
  cqlshResolvedAsOf: '2026-11-01',
} as const;
