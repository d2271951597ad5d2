import path from 'node:path';
import { repoRoot } from '#infra/pipeline/files.ts';
import { settings } from '../settings.ts';

export { repoRoot };

/**
 * The one git-ignored folder that holds everything the stack downloads, installs and writes.
 * `STACK_HOME` moves it (an absolute path), for example to a faster disk.
 */
export const stackHome = path.resolve(settings.STACK_HOME ?? path.join(repoRoot, '.local'));

/** Where one service keeps its pieces: versioned installs, its data, its logs and its pid file. */
export interface ServicePaths {
  readonly root: string;
  readonly data: string;
  readonly logs: string;
  readonly pidFile: string;
}

/** Downloads and installs, shared by services and keyed by version, so they survive `reset`. */
export const downloadsDir = path.join(stackHome, 'downloads');

/** Where every service keeps its folder; each runs with its working directory inside its own. */
export const servicesDir = path.join(stackHome, 'services');

/** Paths for one service under the stack home. */
export function servicePaths(name: string): ServicePaths {
  const root = path.join(servicesDir, name);
  return {
    root,
    data: path.join(root, 'data'),
    logs: path.join(root, 'logs'),
    pidFile: path.join(root, `${name}.pid`),
  };
}
