import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { endpoints } from '#infra/stack/endpoints.ts';
import { cqlshCommand, psqlCommand, requireRunning, statementOf } from '#scripts/query-shell.ts';

describe('statementOf', () => {
  it('is undefined without arguments (the interactive shell), the words joined with spaces otherwise', () => {
    expect(statementOf([])).toBeUndefined();
    expect(statementOf(['  '])).toBeUndefined();
    expect(statementOf(['SELECT count(*) FROM users'])).toBe('SELECT count(*) FROM users');
    expect(statementOf(['SELECT', 'count(*)', 'FROM', 'users'])).toBe('SELECT count(*) FROM users');
  });
});

describe('cqlshCommand', () => {
  it("connects to the stack's Cassandra in the pipeline's keyspace, interactive without a statement", () => {
    expect(cqlshCommand('/venv/bin/cqlsh')).toEqual({
      command: '/venv/bin/cqlsh',
      args: ['127.0.0.1', '9042', '--keyspace', 'user_pipeline'],
      env: {},
    });
  });

  it('runs a statement with -e, as one argument', () => {
    const { args } = cqlshCommand('cqlsh', 'SELECT * FROM users_per_minute LIMIT 5');
    expect(args.slice(-2)).toEqual(['-e', 'SELECT * FROM users_per_minute LIMIT 5']);
  });
});

describe('psqlCommand', () => {
  const { pipeline } = endpoints.postgres;

  it("connects to the pipeline's database as its role, interactive without a statement", () => {
    expect(psqlCommand('/pg/bin/psql')).toEqual({
      command: '/pg/bin/psql',
      args: ['--host', '127.0.0.1', '--port', '5432', '--username', 'pipeline', '--dbname', 'pipeline'],
      env: { PGPASSWORD: pipeline.password },
    });
  });

  it('runs a statement with --command, and never puts the password on the command line', () => {
    const shell = psqlCommand('psql', "SELECT count(*) FROM users WHERE nat = 'FR'");
    expect(shell.args.slice(-2)).toEqual(['--command', "SELECT count(*) FROM users WHERE nat = 'FR'"]);
    expect(shell.args.join(' ')).not.toContain(pipeline.password);
  });
});

describe('requireRunning', () => {
  /** A port that nothing listens on: one the system just gave out and took back. */
  async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  it('names the service and the command that starts it when nothing listens', async () => {
    const port = await closedPort();
    await expect(requireRunning({ label: 'Cassandra', name: 'cassandra', port })).rejects.toThrow(
      `Cassandra is not running (nothing listens on 127.0.0.1:${port}): npm run stack -- up cassandra`,
    );
  });

  it('passes when something listens', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      await expect(requireRunning({ label: 'PostgreSQL', name: 'postgres', port })).resolves.toBeUndefined();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
