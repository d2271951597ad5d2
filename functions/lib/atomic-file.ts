import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** What a temporary file's name ends with: readers of a folder skip it. */
export const TEMP_SUFFIX = '.tmp';

/**
 * Writes `file` so that a crash (kill -9, power loss) leaves either the old content or the new, never
 * a part: the data goes to a temporary file beside it, is flushed to disk, renamed over `file` (atomic
 * within a file system), and the folder is flushed so that the rename itself is on disk.
 */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const temp = `${file}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
  try {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

/** Flushes a folder's entries (a rename, an unlink) to disk. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
