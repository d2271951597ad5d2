import { X509Certificate } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { guardClientErrors, sslOptions } from '#lib/db.ts';

describe('database TLS', () => {
  it("checks an RDS certificate against Amazon RDS's own CAs, bundled (no file, no download)", () => {
    const ssl = sslOptions({ DB_SSL: 'true', DB_SSL_CA: 'rds' });
    expect(ssl).toMatchObject({ rejectUnauthorized: true });
    const ca = (ssl as { ca: string[] }).ca;
    const subjects = ca.map((pem) => new X509Certificate(pem).subject);
    // The CA infra/aws/template.yml gives the instance (rds-ca-rsa2048-g1), in its region.
    expect(subjects.some((s) => s.includes('CN=Amazon RDS us-east-1 Root CA RSA2048 G1'))).toBe(true);
  });

  it("checks other certificates against Node's roots, and turns TLS off only when told", () => {
    expect(sslOptions({ DB_SSL: 'true', DB_SSL_CA: 'system' })).toEqual({ rejectUnauthorized: true });
    expect(sslOptions({ DB_SSL: 'false', DB_SSL_CA: 'rds' })).toBe(false);
  });
});

describe('a pooled connection that dies', () => {
  it('reports its error to a listener instead of throwing it (pg emits it on the client it holds)', () => {
    const lost = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    const unguarded = new pg.Client();
    expect(() => unguarded.emit('error', lost)).toThrow(lost);
    const guarded = new pg.Client();
    guardClientErrors(guarded as pg.PoolClient);
    expect(() => guarded.emit('error', lost)).not.toThrow();
  });
});
