import type { StackService } from '../service.js';
import { airflowApi, airflowDagProcessor, airflowScheduler } from './airflow.js';
import { aws } from './aws.js';
import { cassandra } from './cassandra.js';
import { kafka } from './kafka.js';
import { postgres } from './postgres.js';
import { randomuser } from './randomuser.js';
import { registry } from './registry.js';

/** Every service of the local stack. A new service is one module, added here. */
export const services: readonly StackService[] = [
  postgres,
  kafka,
  registry,
  cassandra,
  aws,
  randomuser,
  airflowScheduler,
  airflowDagProcessor,
  airflowApi,
];

/**
 * The services the functions need (`sls offline`, the integration and e2e suites). Airflow and Spark
 * run on top of them: `stack up` with no names, the demo, or the suites that use them start those.
 */
export const pipelineServiceNames: readonly string[] = [
  postgres,
  kafka,
  registry,
  cassandra,
  aws,
  randomuser,
].map((service) => service.name);
