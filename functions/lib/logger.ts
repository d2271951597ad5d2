import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger of every function (Powertools: structured JSON with the Lambda context). Log ids,
 * counts and reasons; never a payload, an e-mail or a phone number: users' data is personal.
 */
export const logger = new Logger({ serviceName: 'user-pipeline' });
