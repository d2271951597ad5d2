import type { StackService } from '../service.js';
import { airflowApi, airflowDagProcessor, airflowScheduler } from './airflow.js';
import { aws } from './aws.js';
import { cassandra } from './cassandra.js';
import { kafka } from './kafka.js';
import { postgres } from './postgres.js';
import { randomuser } from './randomuser.js';
import { registry } from './registry.js';
import { sparkJob, sparkMaster, sparkWorker } from './spark.js';

/** The services the functions need (`sls offline`, the integration and e2e suites). */
const pipelineServices: readonly StackService[] = [postgres, kafka, registry, cassandra, aws, randomuser];

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
