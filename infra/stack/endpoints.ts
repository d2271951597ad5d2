/**
 * Where the local stack's services listen and the credentials they are set up with. These are
 * development-only values for services bound to 127.0.0.1 (docker-compose.yml uses the same); the
 * functions read their credentials from SSM or Secrets Manager, never from here.
 */
export const endpoints = {
  postgres: {
    host: '127.0.0.1',
    port: 5432,
    /** The cluster's superuser, used only by the stack to create roles and databases. */
    superuser: { user: 'postgres', password: 'postgres-local' },
    /** The pipeline's own role and database. */
    pipeline: { user: 'pipeline', password: 'pipeline-local', database: 'pipeline' },
    /** The schema registry's role and database: it keeps registered schemas there. */
    registry: { user: 'registry', password: 'registry-local', database: 'registry' },
    /** Airflow's metadata database. */
    airflow: { user: 'airflow', password: 'airflow-local', database: 'airflow' },
  },
  kafka: { brokers: ['127.0.0.1:9092'], controllerPort: 9093 },
  registry: { port: 8085, managementPort: 9000, url: 'http://127.0.0.1:8085/apis/ccompat/v7' },
  cassandra: { contactPoints: ['127.0.0.1'], port: 9042, storagePort: 7000, localDataCenter: 'datacenter1' },
  randomuser: { port: 3100, url: 'http://127.0.0.1:3100' },
  airflow: {
    /** The API server: the UI, the REST API and the task execution API. */
    port: 8080,
    url: 'http://127.0.0.1:8080',
    /** The scheduler's own health endpoint. */
    schedulerHealthPort: 8974,
    /** The UI's login (Airflow's simple auth manager; development only, bound to 127.0.0.1). */
    login: { username: 'admin', password: 'admin' },
  },
  aws: {
    endpoint: 'http://127.0.0.1:4566',
    port: 4566,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  },
} as const;
