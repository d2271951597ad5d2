import type cassandraDriver from 'cassandra-driver';
import { Partitioners, type Admin } from 'kafkajs';
import type pg from 'pg';
import type { RawStore } from '#lib/raw-store.ts';
import { part } from '#lib/snapshot/part.ts';
import type { DeadLetterSummary, Trace } from './api.ts';

/** An e-mail address with all but its first letter hidden: `j•••@example.com`. */
export function maskEmail(email: string): string {
  const at = email.indexOf('@');
  return at <= 0 ? '•••' : `${email.slice(0, 1)}•••${email.slice(at)}`;
}

/** A phone number with every digit but the last two hidden, its punctuation kept. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '').length;
  let seen = 0;
  return phone.replace(/\d/g, (d) => (++seen > digits - 2 ? d : '•'));
}

/** Where a trace looks. */
export interface TraceSources {
  readonly db: () => Promise<Pick<pg.Pool, 'query'>>;
  readonly cassandra: () => Promise<Pick<cassandraDriver.Client, 'execute'>>;
  readonly kafkaAdmin: () => Promise<Pick<Admin, 'fetchTopicOffsets'>>;
  readonly rawZone: () => Pick<RawStore, 'head'>;
  readonly usersTopic: string;
  readonly usersTable: string;
  /** Dead letters among the latest the queue holds. */
  readonly deadLetters: () => Promise<readonly DeadLetterSummary[]>;
}

/** The raw key fetch gives a batch on a day (functions/fetch/fetch-batch.ts). */
const rawKey = (day: Date, batchId: string): string =>
  `raw/date=${day.toISOString().slice(0, 10)}/batch=${batchId}.json`;

/**
 * Where one user is now, stage by stage, each read by key (the outbox by its user_key, a scan only of
 * that table's rows for the user). Personal fields are masked unless `reveal`.
 */
export async function traceUser(sources: TraceSources, userKey: string, reveal: boolean): Promise<Trace> {
  const row = await part(async () => {
    const { rows } = await (
      await sources.db()
    ).query<{
      version: number;
      batch_id: string;
      updated_at: Date;
      created_at: Date;
      first_name: string;
      last_name: string;
      email: string;
      phone: string;
      nat: string;
    }>(
      `SELECT version, batch_id, updated_at, created_at, first_name, last_name, email, phone, nat
         FROM users WHERE user_key = $1`,
      [userKey],
    );
    return rows[0] ?? null;
  });
  const user = row.ok ? row.data : null;
  const [raw, outbox, kafka, cassandra, deadLetters] = await Promise.all([
    row.ok
      ? part(async () => {
          if (user === null) return null;
          // The batch was fetched on the day it was persisted, or the day before.
          const days = [user.updated_at, new Date(user.updated_at.getTime() - 86_400_000), user.created_at];
          for (const key of [...new Set(days.map((d) => rawKey(d, user.batch_id)))]) {
            if ((await sources.rawZone().head(key)) !== undefined) return { key, exists: true };
          }
          return { key: rawKey(user.updated_at, user.batch_id), exists: false };
        })
      : Promise.resolve(row),
    part(async () => {
      const { rows } = await (
        await sources.db()
      ).query<{
        event_id: string;
        event_type: string;
        user_version: number;
        created_at: Date;
        published_at: Date | null;
      }>(
        `SELECT event_id, event_type, user_version, created_at, published_at
           FROM outbox WHERE user_key = $1 ORDER BY id DESC LIMIT 20`,
        [userKey],
      );
      return rows.map((r) => ({
        eventId: r.event_id,
        eventType: r.event_type,
        version: r.user_version,
        createdAt: r.created_at.toISOString(),
        publishedAt: r.published_at?.toISOString() ?? null,
      }));
    }),
    part(async () => {
      const offsets = await (await sources.kafkaAdmin()).fetchTopicOffsets(sources.usersTopic);
      if (offsets.length === 0) return null;
      // The producer's own partitioner, as publish keys each event by its user key.
      const partition = Partitioners.DefaultPartitioner()({
        topic: sources.usersTopic,
        partitionMetadata: offsets.map((o) => ({
          partitionErrorCode: 0,
          partitionId: o.partition,
          leader: 0,
          replicas: [0],
          isr: [0],
        })),
        message: { key: userKey, value: null },
      });
      return { partition, high: Number(offsets.find((o) => o.partition === partition)?.high ?? 0) };
    }),
    part(async () => {
      const result = await (
        await sources.cassandra()
      ).execute(
        `SELECT version, updated_at, sunk_at FROM ${sources.usersTable} WHERE user_key = ?`,
        [userKey],
        {
          prepare: true,
        },
      );
      const found = result.rows[0];
      if (found === undefined) return null;
      const date = (name: string): string | null => (found.get(name) as Date | null)?.toISOString() ?? null;
      return {
        version: Number(found.get('version')),
        updatedAt: date('updated_at'),
        sunkAt: date('sunk_at'),
      };
    }),
    part(async () => (await sources.deadLetters()).filter((l) => l.key === userKey)),
  ]);
  return {
    userKey,
    postgres: row.ok
      ? {
          ok: true,
          data:
            user === null
              ? null
              : {
                  version: user.version,
                  batchId: user.batch_id,
                  updatedAt: user.updated_at.toISOString(),
                  name: `${user.first_name} ${user.last_name}`,
                  email: reveal ? user.email : maskEmail(user.email),
                  phone: reveal ? user.phone : maskPhone(user.phone),
                  nat: user.nat,
                },
        }
      : row,
    raw,
    outbox,
    kafka,
    cassandra,
    deadLetters,
  };
}
