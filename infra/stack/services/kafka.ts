import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { endpoints } from '../endpoints.ts';
import { downloadsDir } from '../lib/paths.ts';
import { run } from '../lib/process.ts';
import { fetchMavenClosure, findJava } from '../lib/toolchain.ts';
import { ProcessService, type Progress } from '../service.ts';
import { versions } from '../versions.ts';

const [broker] = endpoints.kafka.brokers;
const brokerPort = Number(broker.split(':')[1]);
const { controllerPort } = endpoints.kafka;

/** Kafka in KRaft mode: one node that is both broker and controller. Kafka 4 has no Zookeeper. */
class KafkaService extends ProcessService {
  readonly name = 'kafka';
  readonly summary = `Kafka ${versions.kafka} in KRaft mode (no Zookeeper), broker jars from Maven Central`;
  readonly ports = [brokerPort, controllerPort];
  override readonly startTimeoutMs = 90_000;
  private readonly libs = path.join(downloadsDir, `kafka-${versions.kafka}`, 'libs');
  private readonly conf = path.join(this.paths.root, 'conf');

  override get logFiles(): readonly string[] {
    return [path.join(this.paths.logs, 'server.log'), this.stdoutLog];
  }

  private java(): string {
    return findJava({ min: 17, max: 25, envVar: 'KAFKA_JAVA_HOME', neededBy: 'Kafka' });
  }

  checkPrerequisites(): Promise<void> {
    this.java();
    return Promise.resolve();
  }

  private jvmOptions(): string[] {
    return [
      `-Dkafka.logs.dir=${this.paths.logs}`,
      `-Dlog4j2.configurationFile=${path.join(this.conf, 'log4j2.properties')}`,
      '-cp',
      `${this.libs}/*`,
    ];
  }

  async provision(progress: Progress): Promise<void> {
    await fetchMavenClosure(
      {
        target: path.dirname(this.libs),
        neededBy: 'Kafka',
        announce: () => {
          progress('fetching the broker jars from Maven Central');
        },
      },
      [
        `org.apache.kafka:kafka_2.13:${versions.kafka}`,
        `org.apache.kafka:kafka-tools:${versions.kafka}`,
        `org.apache.logging.log4j:log4j-slf4j-impl:${versions.log4j}`,
        `org.apache.logging.log4j:log4j-core:${versions.log4j}`,
        `org.apache.logging.log4j:log4j-api:${versions.log4j}`,
      ],
    );
    await mkdir(this.conf, { recursive: true });
    await mkdir(this.paths.logs, { recursive: true });
    await writeFile(path.join(this.conf, 'server.properties'), this.serverProperties());
    await writeFile(path.join(this.conf, 'log4j2.properties'), LOG4J2);
    if (!existsSync(path.join(this.paths.data, 'meta.properties'))) {
      progress('formatting the KRaft storage');
      const java = this.java();
      const clusterId = (
        await run(java, [...this.jvmOptions(), 'kafka.tools.StorageTool', 'random-uuid'])
      ).trim();
      await run(java, [
        ...this.jvmOptions(),
        'kafka.tools.StorageTool',
        'format',
        '--standalone',
        '-t',
        clusterId,
        '-c',
        path.join(this.conf, 'server.properties'),
      ]);
    }
  }

  private serverProperties(): string {
    return `# Written by the stack (infra/stack/services/kafka.ts) on every up: edit that file, not this one.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${this.paths.data}
num.partitions=3
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
`;
  }

  protected command(): Promise<{ command: string; args: string[] }> {
    return Promise.resolve({
      command: this.java(),
      args: [
        '-Xms512m',
        '-Xmx512m',
        '-XX:+UseG1GC',
        ...this.jvmOptions(),
        'kafka.Kafka',
        path.join(this.conf, 'server.properties'),
      ],
    });
  }

  /**
   * Healthy once a metadata call, a consumer-group call and an idempotent producer's InitProducerId
   * all succeed: right after start the coordinators answer "loading" for a few seconds, and the
   * pipeline's consumers and producers would fail or retry then.
   */
  async isHealthy(): Promise<boolean> {
    const kafka = new Kafka({
      brokers: [broker],
      clientId: 'stack-health',
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2000,
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    // kafkajs refuses an idempotent producer without retries: allow one, quickly.
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 },
    });
    try {
      await admin.connect();
      await admin.listTopics();
      await admin.describeGroups(['stack-health-probe']);
      await producer.connect();
      return true;
    } finally {
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    }
  }
}

const LOG4J2 = `status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = \${sys:kafka.logs.dir}/server.log
appender.file.filePattern = \${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
`;

export const kafka = new KafkaService();
