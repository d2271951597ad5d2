import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { endpoints } from '../endpoints.ts';
import { PrerequisiteError } from '../lib/errors.ts';
import { downloadsDir } from '../lib/paths.ts';
import { run } from '../lib/process.ts';
import { findPython313, installOnce, installPythonVenv, onPath } from '../lib/toolchain.ts';
import { ProcessService, type Progress } from '../service.ts';
import { settings, type StackSettings } from '../settings.ts';
import { versions } from '../versions.ts';

/** Which AWS emulator runs on port 4566, why, and the interpreter its venv is made from. */
const EmulatorChoice = z.object({
  kind: z.enum(['localstack', 'moto']),
  reason: z.string(),
  python: z.string(),
});
export type EmulatorChoice = z.infer<typeof EmulatorChoice>;

/**
 * LocalStack needs Python 3.13; where none exists, moto's server serves the same four APIs.
 * STACK_AWS_EMULATOR=localstack or =moto forces one; the default, auto, prefers LocalStack.
 */
export function chooseEmulator(
  mode: StackSettings['STACK_AWS_EMULATOR'],
  python313: string | undefined,
  python3: string | undefined,
): EmulatorChoice {
  if (mode !== 'moto' && python313 !== undefined) {
    return { kind: 'localstack', reason: `Python 3.13 found at ${python313}`, python: python313 };
  }
  if (mode === 'localstack') {
    throw new PrerequisiteError(
      'LocalStack needs Python 3.13, and none was found: install it (pyenv install 3.13) or set PYTHON313 to its interpreter',
    );
  }
  if (python3 === undefined) {
    throw new PrerequisiteError('the AWS emulator needs python3 with venv: apt-get install python3-venv');
  }
  const reason = mode === 'moto' ? 'STACK_AWS_EMULATOR=moto' : 'no Python 3.13 found, which LocalStack needs';
  return { kind: 'moto', reason, python: python3 };
}

/** LocalStack 4.14.0 (S3, SQS, SSM, Secrets Manager) on 127.0.0.1:4566, or moto's server as fallback. */
class AwsEmulatorService extends ProcessService {
  readonly name = 'aws';
  readonly summary = `LocalStack ${versions.localstack} (S3, SQS, SSM, Secrets Manager), or moto ${versions.moto} without Python 3.13`;
  readonly ports = [endpoints.aws.port];
  override readonly startTimeoutMs = 120_000;
  private readonly choiceFile = path.join(this.paths.root, 'emulator.json');

  private choose(): EmulatorChoice {
    return chooseEmulator(settings.STACK_AWS_EMULATOR, findPython313(), onPath('python3'));
  }

  private venv(choice: EmulatorChoice): string {
    const name = choice.kind === 'localstack' ? `localstack-${versions.localstack}` : `moto-${versions.moto}`;
    return path.join(downloadsDir, name);
  }

  checkPrerequisites(): Promise<void> {
    this.choose();
    return Promise.resolve();
  }

  async provision(progress: Progress): Promise<void> {
    const choice = this.choose();
    const announce = (): void => {
      progress(`${choice.kind} (${choice.reason}): installing its venv`);
    };
    const venv = this.venv(choice);
    if (choice.kind === 'localstack') {
      // uv resolves LocalStack's unpinned dependencies as of its release day (pip cannot).
      const spec = `localstack-core[runtime]==${versions.localstack}`;
      await installPythonVenv({
        target: venv,
        python: choice.python,
        pipArgs: ['--exclude-newer', versions.localstackResolvedAsOf, spec],
        stamp: `${spec} as of ${versions.localstackResolvedAsOf}`,
        progress,
        announce,
      });
    } else {
      await installOnce(
        venv,
        `moto[server]==${versions.moto}`,
        async (dir) => {
          await run(choice.python, ['-m', 'venv', dir]);
          await run(path.join(dir, 'bin', 'pip'), ['install', '-q', `moto[server]==${versions.moto}`]);
        },
        announce,
      );
    }
    await mkdir(this.paths.data, { recursive: true });
  }

  protected async command(): Promise<{ command: string; args: string[]; env: NodeJS.ProcessEnv }> {
    const choice = this.choose();
    await writeFile(this.choiceFile, JSON.stringify(choice));
    const python = path.join(this.venv(choice), 'bin', 'python');
    if (choice.kind === 'moto') {
      return {
        command: python,
        args: ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(endpoints.aws.port)],
        env: {},
      };
    }
    return {
      command: python,
      args: ['-m', 'localstack.runtime.main'],
      env: {
        GATEWAY_LISTEN: `127.0.0.1:${endpoints.aws.port}`,
        // The default server (twisted) ignores GATEWAY_LISTEN's host and binds 0.0.0.0; hypercorn honours it.
        GATEWAY_SERVER: 'hypercorn',
        SERVICES: 's3,sqs,ssm,secretsmanager',
        LOCALSTACK_VOLUME_DIR: this.paths.data,
        // Without these two, the queue URLs it returns name *.localstack.cloud, which does not resolve offline.
        LOCALSTACK_HOST: `127.0.0.1:${endpoints.aws.port}`,
        SQS_ENDPOINT_STRATEGY: 'path',
        SKIP_SSL_CERT_DOWNLOAD: '1',
        DISABLE_EVENTS: '1',
      },
    };
  }

  /** Healthy once S3 and SQS both answer a list call through the AWS SDK. */
  async isHealthy(): Promise<boolean> {
    const config = {
      endpoint: endpoints.aws.endpoint,
      region: endpoints.aws.region,
      credentials: endpoints.aws.credentials,
      forcePathStyle: true,
      maxAttempts: 1,
    };
    const s3 = new S3Client(config);
    const sqs = new SQSClient(config);
    try {
      await s3.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(3000) });
      await sqs.send(new ListQueuesCommand({}), { abortSignal: AbortSignal.timeout(3000) });
      return true;
    } finally {
      s3.destroy();
      sqs.destroy();
    }
  }

  /** Which emulator runs, and why. */
  async describe(): Promise<string> {
    if (!existsSync(this.choiceFile)) return '';
    const choice = EmulatorChoice.parse(JSON.parse(await readFile(this.choiceFile, 'utf8')));
    const version = choice.kind === 'localstack' ? versions.localstack : versions.moto;
    return `${choice.kind} ${version}: ${choice.reason}`;
  }
}

export const aws = new AwsEmulatorService();
