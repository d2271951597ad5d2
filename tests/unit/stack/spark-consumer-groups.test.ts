import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipelineResources, sparkQueries } from '#infra/pipeline/resources.ts';
import { repoRoot } from '#infra/stack/lib/paths.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';

const python = (file: string): string =>
  readFileSync(path.join(repoRoot, 'spark/users_aggregates', file), 'utf8');

/**
 * The stack passes the groups' prefix to the job; the job's own default (compose, a run by hand) and its
 * query names are in Python, read here so that the two sides cannot drift apart.
 */
describe('the Spark job’s consumer groups', () => {
  it('are one per query, named <stage prefix>-<query>', () => {
    expect(localResources.sparkConsumerGroups).toEqual([
      'user-pipeline-local-spark-aggregates-users_per_minute',
      'user-pipeline-local-spark-aggregates-age_stats_per_minute',
    ]);
    expect(pipelineResources('aws').sparkConsumerGroupPrefix).toBe('user-pipeline-aws-spark-aggregates');
  });

  it('name the job’s queries, and its default prefix is the local stage’s', () => {
    const queries = /^QUERIES\b[^=]*= \{([\s\S]*?)^\}/m.exec(python('stream.py'))?.[1] ?? '';
    expect([...queries.matchAll(/^\s+"(\w+)":/gm)].map((m) => m[1])).toEqual([...sparkQueries]);
    const option =
      /"SPARK_JOB_CONSUMER_GROUP_PREFIX",\s*"--consumer-group-prefix",\s*(?:#.*\n\s*)*"([^"]+)"/.exec(
        python('settings.py'),
      );
    expect(option?.[1]).toBe(localResources.sparkConsumerGroupPrefix);
  });
});
