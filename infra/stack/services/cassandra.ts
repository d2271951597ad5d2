import { readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import cassandraDriver from 'cassandra-driver';
import { endpoints } from '../endpoints.ts';
import { downloadsDir } from '../lib/paths.ts';
import { fetchMavenClosure, findJava } from '../lib/toolchain.ts';
import { ProcessService, type Progress } from '../service.ts';
import { settings } from '../settings.ts';
import { versions } from '../versions.ts';

/** The heap is explicit: the default would take a quarter of the machine's memory. */
const HEAP = settings.CASSANDRA_HEAP;

/** JDK internals Cassandra reaches into on Java 17 (the tarball's jvm17-server.options). */
const ADD_EXPORTS = [
  'java.base/jdk.internal.misc',
  'java.management.rmi/com.sun.jmx.remote.internal.rmi',
  'java.rmi/sun.rmi.registry',
  'java.rmi/sun.rmi.server',
  'java.sql/java.sql',
  'java.base/java.lang.ref',
  'jdk.unsupported/sun.misc',
  'jdk.compiler/com.sun.tools.javac.file',
  'jdk.attach/sun.tools.attach',
  'java.management/com.sun.jmx.remote.security',
];
const ADD_OPENS = [
  'java.base/java.lang.module',
  'java.base/jdk.internal.loader',
  'java.base/jdk.internal.ref',
  'java.base/jdk.internal.reflect',
  'java.base/jdk.internal.math',
  'java.base/jdk.internal.module',
  'java.base/jdk.internal.util.jar',
  'jdk.management/com.sun.management.internal',
  'java.base/sun.nio.ch',
  'java.base/java.io',
  'java.base/java.lang.reflect',
  'jdk.compiler/com.sun.tools.javac',
  'java.base/java.lang',
  'java.base/java.util',
  'java.base/java.nio',
];

/** Cassandra 5.0, one node, from the cassandra-all jars, on Java 17. */
class CassandraService extends ProcessService {
  readonly name = 'cassandra';
  readonly summary = `Cassandra ${versions.cassandra}, cassandra-all jars from Maven Central on Java 17, ${HEAP} heap`;
  readonly ports = [endpoints.cassandra.port, endpoints.cassandra.storagePort];
  override readonly startTimeoutMs = 150_000;
  private readonly libs = path.join(downloadsDir, `cassandra-${versions.cassandra}`, 'libs');
  private readonly conf = path.join(this.paths.root, 'conf');

  override get logFiles(): readonly string[] {
    return [path.join(this.paths.logs, 'system.log'), this.stdoutLog];
  }

  private java(): string {
    return findJava({ min: 17, max: 17, envVar: 'CASSANDRA_JAVA_HOME', neededBy: 'Cassandra 5.0' });
  }

  checkPrerequisites(): Promise<void> {
    this.java();
    return Promise.resolve();
  }

  async provision(progress: Progress): Promise<void> {
    await fetchMavenClosure(
      {
        target: path.dirname(this.libs),
        neededBy: 'Cassandra',
        announce: () => {
          progress('fetching the cassandra-all jars from Maven Central');
        },
      },
      [`org.apache.cassandra:cassandra-all:${versions.cassandra}`],
    );
    await mkdir(this.conf, { recursive: true });
    await mkdir(this.paths.logs, { recursive: true });
    await writeFile(path.join(this.conf, 'cassandra.yaml'), this.yaml());
    await writeFile(path.join(this.conf, 'logback.xml'), LOGBACK);
  }

  private yaml(): string {
    const d = this.paths.data;
    return `# Written by the stack (infra/stack/services/cassandra.ts) on every up: edit that file, not this one.
cluster_name: 'pipeline-local'
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
num_tokens: 1
storage_port: ${endpoints.cassandra.storagePort}
native_transport_port: ${endpoints.cassandra.port}
start_native_transport: true
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters: [{ seeds: "127.0.0.1" }]
data_file_directories: [${d}/data]
commitlog_directory: ${d}/commitlog
saved_caches_directory: ${d}/saved_caches
hints_directory: ${d}/hints
cdc_raw_directory: ${d}/cdc_raw
# An acknowledged write must survive a kill -9: with periodic sync, replay skips everything after
# the last sync marker (up to 10 s of writes). Group sync acknowledges after an fsync shared by every
# write of a 10 ms window.
commitlog_sync: group
commitlog_sync_group_window: 10ms
# Each write holds a MutationStage thread until its group's fsync, so the default 32 threads cap a
# node at 32 writes per window, about 3,200 rows/s, with the CPU idle. 128 threads lift that cap
# above what the CPU allows here (raw writes reached 4,400-4,800 rows/s with Cassandra on one core,
# against 2,400 at 32), and match the sink's 128 writes in flight. 'batch' sync measured slower
# (2,900 rows/s); unlogged multi-user batches too (3,600).
concurrent_writes: 128
commitlog_segment_size: 8MiB
auto_snapshot: false
memtable_allocation_type: heap_buffers
disk_access_mode: standard
file_cache_size: 128MiB
key_cache_size: 32MiB
`;
  }

  protected command(): Promise<{ command: string; args: string[] }> {
    const jamm = readdirSync(this.libs).find((f) => f.startsWith('jamm-'));
    if (jamm === undefined) throw new Error(`no jamm jar in ${this.libs}: run 'stack reset' and up again`);
    return Promise.resolve({
      command: this.java(),
      args: [
        `-Xms${HEAP}`,
        `-Xmx${HEAP}`,
        '-Xss256k',
        '-XX:+UseG1GC',
        `-javaagent:${path.join(this.libs, jamm)}`,
        '-Djdk.attach.allowAttachSelf=true',
        '-Djava.net.preferIPv4Stack=true',
        '-Dio.netty.tryReflectionSetAccessible=true',
        ...ADD_EXPORTS.flatMap((e) => ['--add-exports', `${e}=ALL-UNNAMED`]),
        ...ADD_OPENS.flatMap((o) => ['--add-opens', `${o}=ALL-UNNAMED`]),
        '-Dcassandra-foreground=yes',
        `-Dcassandra.config=file://${path.join(this.conf, 'cassandra.yaml')}`,
        `-Dcassandra.storagedir=${this.paths.data}`,
        `-Dcassandra.logdir=${this.paths.logs}`,
        `-Dlogback.configurationFile=${path.join(this.conf, 'logback.xml')}`,
        // One node: nothing to gossip with, and no superuser to wait for.
        '-Dcassandra.skip_wait_for_gossip_to_settle=0',
        '-Dcassandra.superuser_setup_delay_ms=0',
        '-cp',
        `${this.conf}:${this.libs}/*`,
        'org.apache.cassandra.service.CassandraDaemon',
      ],
    });
  }

  /** Healthy once the native protocol answers a query. */
  async isHealthy(): Promise<boolean> {
    const client = new cassandraDriver.Client({
      contactPoints: [...endpoints.cassandra.contactPoints],
      localDataCenter: endpoints.cassandra.localDataCenter,
      socketOptions: { connectTimeout: 2000 },
    });
    try {
      await client.connect();
      await client.execute('SELECT release_version FROM system.local');
      return true;
    } finally {
      await client.shutdown();
    }
  }
}

const LOGBACK = `<configuration>
  <appender name="FILE" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>\${cassandra.logdir}/system.log</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
      <fileNamePattern>\${cassandra.logdir}/system.log.%i</fileNamePattern>
      <minIndex>1</minIndex><maxIndex>3</maxIndex>
    </rollingPolicy>
    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy"><maxFileSize>50MB</maxFileSize></triggeringPolicy>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
`;

export const cassandra = new CassandraService();
