// Makes node_modules match package-lock.json, so that `npm test` and `npm run stack` work from a
// fresh clone with no other step. It runs before them on whatever Node is on PATH (the machine's may
// be older than 22): the project's own Node 22 comes from node_modules, through the `node` package.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';

if (process.argv.slice(2).some((arg) => arg === '--help' || arg === '-h')) {
  process.stdout.write(
    'usage: node scripts/ensure-node-modules.mjs   (npm ci when node_modules does not match package-lock.json)\n',
  );
  process.exit(0);
}

const lock = readFileSync('package-lock.json');
const wanted = createHash('sha256').update(lock).digest('hex');
const stamp = 'node_modules/.installed-lock-sha256';
const current = existsSync(stamp) ? readFileSync(stamp, 'utf8') : '';

if (current !== wanted || !existsSync('node_modules/.bin/node')) {
  process.stdout.write('installing node modules from package-lock.json (npm ci)\n');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    process.stderr.write('npm ci failed: see the messages above\n');
    process.exit(result.status ?? 1);
  }
  writeFileSync(stamp, wanted);
}
