import type { StackService } from '../service.js';
import { airflowApi, airflowDagProcessor, airflowScheduler } from './airflow.js';
import { aws } from './aws.js';
import { bootstrap } from './bootstrap.js';
import { cassandra } from './cassandra.js';
import { kafka } from './kafka.js';
import { postgres } from './postgres.js';
import { randomuser } from './randomuser.js';
import { registry } from './registry.js';
import { sparkJob, sparkMaster, sparkWorker } from './spark.js';

/**
 * What the functions need (`sls offline`, the integration and e2e suites): the pipeline's services
 * and the local stage's bootstrap, which runs once they are healthy.
 */
const pipelineServices: readonly StackService[] = [
  postgres,
  kafka,
  registry,
  cassandra,
  aws,
  randomuser,
  bootstrap,
];

/** Every service of the local stack. A new service is one module, added here. */
export const services: readonly StackService[] = [
  ...pipelineServices,
  airflowScheduler,
  airflowDagProcessor,
  airflowApi,
  sparkMaster,
  sparkWorker,
  sparkJob,
];

/**
 * The names of the pipeline's services. Airflow and Spark run on top of them: `stack up` with no
 * names, the demo, or the suites that use them start those.
 */
export const pipelineServiceNames: readonly string[] = pipelineServices.map((service) => service.name);
