/**
 * serverless-offline-kafka: AWS Lambda's Kafka event-source mapping (`kafka` and `msk` function
 * events) for `sls offline start`. Wiring only: configuration in config.ts, Kafka in poller.ts,
 * batching and retries in delivery.ts, the Lambda call in invoker.ts, SQS (or folders) in on-failure.ts.
 */
import { emulatorCredentials } from './aws.ts';
import { ConfigError, resolveConfig } from './config.ts';
import type { ResolvedConfig, ServiceInput } from './config.ts';
import { createLambdaInvoker } from './invoker.ts';
import type { LambdaInvoker } from './invoker.ts';
import { createDirectoryDestination, createSqsDestination } from './on-failure.ts';
import type { Destination } from './on-failure.ts';
import { KafkaPoller } from './poller.ts';
import type { PollerLog } from './poller.ts';

/** The framework's log for plugins (the third constructor argument's `log`). */
export type PluginLog = PollerLog;

/** The part of the framework's `serverless` object the plugin reads. */
export interface ServerlessLike {
  service: {
    service?: string | null;
    custom?: unknown;
    provider: { region?: string; environment?: Record<string, unknown> };
    getAllFunctions(): string[];
    getFunction(name: string): { name?: string; events?: unknown[] };
  };
  /** The framework's error class: its errors are shown without a stack trace. */
  classes?: { Error?: new (message: string, code?: string) => Error };
}

/** The framework's third constructor argument. */
export interface PluginUtils {
  log: PluginLog;
}

/** The plugin; see the module comment and README.md. */
export default class ServerlessOfflineKafka {
  /** The lifecycle hooks: start with serverless-offline, stop before it halts. */
  readonly hooks: Record<string, () => Promise<void>>;
  readonly #serverless: ServerlessLike;
  readonly #cliOptions: Record<string, unknown>;
  readonly #log: PluginLog;
  #pollers: KafkaPoller[] = [];
  #invoker: LambdaInvoker | undefined;
  #destination: Destination | undefined;
  #ready: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;
  readonly #onSignal = (): void => {
    void this.stop();
  };

  /** Called by the framework with the service, the CLI options and the plugin utilities. */
  constructor(serverless: ServerlessLike, cliOptions: Record<string, unknown>, utils: PluginUtils) {
    this.#serverless = serverless;
    this.#cliOptions = cliOptions;
    this.#log = utils.log;
    this.hooks = {
      // The plugin is listed after serverless-offline, so its Lambda endpoint is starting by now.
      'offline:start:init': () => this.start(),
      // serverless-offline's own 'offline:start:end' hook exits the process, so stop before it.
      'before:offline:start:end': () => this.stop(),
      'offline:start:end': () => this.stop(),
    };
  }

  /**
   * Resolves the configuration (throwing on a mistake) and starts one consumer per enabled mapping.
   * The consumers join their groups in the background, so that serverless-offline is not held up by
   * Kafka; `ready()` says when they have.
   */
  start(): Promise<void> {
    const service = this.#serverless.service;
    const input: ServiceInput = {
      serviceName: service.service ?? '',
      providerRegion: service.provider.region,
      providerEnvironment: service.provider.environment,
      custom: service.custom,
      functions: service.getAllFunctions().map((key) => {
        const fn = service.getFunction(key);
        return { key, name: fn.name ?? key, events: fn.events ?? [] };
      }),
      env: process.env,
      cliOptions: this.#cliOptions,
    };
    let resolved: ResolvedConfig;
    try {
      resolved = resolveConfig(input);
    } catch (error) {
      const FrameworkError = this.#serverless.classes?.Error;
      if (error instanceof ConfigError && FrameworkError !== undefined) {
        return Promise.reject(new FrameworkError(error.message, 'OFFLINE_KAFKA_CONFIG'));
      }
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const { settings, mappings, warnings } = resolved;
    for (const warning of warnings) this.#log.warning(warning);
    for (const m of mappings.filter((m) => !m.enabled)) {
      this.#log.info(`${m.label}: enabled is false; not consuming ${m.topic}`);
    }
    const enabled = mappings.filter((m) => m.enabled);
    if (enabled.length === 0) return Promise.resolve();

    const credentials = emulatorCredentials(process.env);
    const invoker = createLambdaInvoker({
      endpoint: settings.lambdaEndpoint,
      region: settings.region,
      ...(credentials === undefined ? {} : { credentials }),
    });
    const destination =
      settings.destinationDirectory === undefined
        ? createSqsDestination({
            ...(settings.awsEndpoint === undefined ? {} : { endpoint: settings.awsEndpoint }),
            ...(credentials === undefined ? {} : { credentials }),
          })
        : createDirectoryDestination(settings.destinationDirectory);
    this.#invoker = invoker;
    this.#destination = destination;
    this.#pollers = enabled.map(
      (mapping) =>
        new KafkaPoller({
          mapping,
          invoke: invoker.forFunction(mapping.functionName),
          sendToDestination: destination.send,
          log: this.#log,
        }),
    );
    // serverless-offline exits on these after its own shutdown; consumers leave their groups first.
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
    this.#log.notice(
      `serverless-offline-kafka: ${enabled.length} Kafka mapping(s) invoking through ${settings.lambdaEndpoint}`,
    );
    this.#ready = Promise.all(
      this.#pollers.map((poller, i) =>
        poller.start().catch((error: unknown) => {
          this.#log.error(
            `${enabled[i]?.label ?? 'mapping'}: could not start (${
              error instanceof Error ? error.message : String(error)
            })`,
          );
        }),
      ),
    ).then(() => undefined);
    return Promise.resolve();
  }

  /** Resolves once every consumer has joined its group (or failed to, which is logged). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Stops every consumer; the in-flight invocation is abandoned uncommitted. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      process.removeListener('SIGINT', this.#onSignal);
      process.removeListener('SIGTERM', this.#onSignal);
      await Promise.all(this.#pollers.map((poller) => poller.stop()));
      this.#invoker?.close();
      this.#destination?.close();
    })();
    return this.#stopping;
  }
}
