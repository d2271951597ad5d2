import { describe, expect, it } from 'vitest';
import { PrerequisiteError } from '#infra/stack/lib/errors.ts';
import { chooseEmulator } from '#infra/stack/services/aws.ts';

describe('chooseEmulator', () => {
  it('runs LocalStack when a Python 3.13 exists', () => {
    expect(chooseEmulator('auto', '/opt/py313/bin/python3.13', '/usr/bin/python3')).toEqual({
      kind: 'localstack',
      reason: 'Python 3.13 found at /opt/py313/bin/python3.13',
      python: '/opt/py313/bin/python3.13',
    });
  });

  it('falls back to moto, and says why, when no Python 3.13 exists', () => {
    expect(chooseEmulator('auto', undefined, '/usr/bin/python3')).toEqual({
      kind: 'moto',
      reason: 'no Python 3.13 found, which LocalStack needs',
      python: '/usr/bin/python3',
    });
  });

  it('runs moto when asked to, even with Python 3.13 present', () => {
    expect(chooseEmulator('moto', '/opt/py313/bin/python3.13', '/usr/bin/python3').kind).toBe('moto');
  });

  it('stops with one line naming the fix when LocalStack is forced and Python 3.13 is missing', () => {
    const attempt = (): unknown => chooseEmulator('localstack', undefined, '/usr/bin/python3');
    expect(attempt).toThrow(PrerequisiteError);
    expect(attempt).toThrow(
      /^LocalStack needs Python 3\.13, and none was found: install it \(pyenv install 3\.13\)/,
    );
  });

  it('stops when there is no python3 at all', () => {
    expect(() => chooseEmulator('auto', undefined, undefined)).toThrow(/needs python3 with venv/);
  });
});
