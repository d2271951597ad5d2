import type { StackService } from '../service.ts';
import { airflowApi, airflowDagProcessor, airflowScheduler } from './airflow.ts';
import { aws } from './aws.ts';
import { bootstrap } from './bootstrap.ts';
import { cassandra } from './cassandra.ts';
import { kafka } from './kafka.ts';
import { postgres } from './postgres.ts';
import { randomuser } from './randomuser.ts';
import { registry } from './registry.ts';
import { sparkJob, sparkMaster, sparkWorker } from './spark.ts';

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
