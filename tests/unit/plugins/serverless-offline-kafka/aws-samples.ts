/**
 * The sample events of the AWS Lambda Developer Guide, as published ("Example event" on with-msk.html
 * and with-kafka.html), typed with the plugin's own event types so that a drift in either shows.
 */
import type {
  MskEvent,
  SelfManagedKafkaEvent,
} from '../../../../plugins/serverless-offline-kafka/event-builder.ts';

const headerValueBytes = [104, 101, 97, 100, 101, 114, 86, 97, 108, 117, 101];

/** https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html, "Example event". */
export const awsMskSample: MskEvent = {
  eventSource: 'aws:kafka',
  eventSourceArn:
    'arn:aws:kafka:us-east-1:123456789012:cluster/vpc-2priv-2pub/751d2973-a626-431c-9d4e-d7975eb44dd7-2',
  bootstrapServers:
    'b-2.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092,b-1.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092',
  records: {
    'mytopic-0': [
      {
        topic: 'mytopic',
        partition: 0,
        offset: 15,
        timestamp: 1545084650987,
        timestampType: 'CREATE_TIME',
        key: 'abcDEFghiJKLmnoPQRstuVWXyz1234==',
        value: 'SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==',
        headers: [{ headerKey: headerValueBytes }],
      },
    ],
  },
};

/** https://docs.aws.amazon.com/lambda/latest/dg/with-kafka.html, "Example event". */
export const awsSelfManagedSample: SelfManagedKafkaEvent = {
  eventSource: 'SelfManagedKafka',
  bootstrapServers:
    'b-2.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092,b-1.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092',
  records: {
    'mytopic-0': [
      {
        topic: 'mytopic',
        partition: 0,
        offset: 15,
        timestamp: 1545084650987,
        timestampType: 'CREATE_TIME',
        key: 'abcDEFghiJKLmnoPQRstuVWXyz1234==',
        value: 'SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==',
        headers: [{ headerKey: headerValueBytes }],
      },
    ],
  },
};
