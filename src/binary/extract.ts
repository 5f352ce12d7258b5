import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { unpackArchive } from './archive.js';

/**
 * Extracts the runtime archive to `<root>/<id>` once and returns that directory. `id` names the
 * archive's contents (its sha256), so a directory that exists is complete and current: it is only
 * ever made by renaming a fully written and synced temporary directory. Concurrent first starts
 * each write their own temporary directory; the first rename wins and the others discard theirs.
 */
export function extractOnce(archive: Uint8Array, id: string, root: string): string {
  const dir = join(root, id);
  if (existsSync(dir)) return dir;
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const tmp = join(root, `.${id}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    for (const { path, data } of unpackArchive(archive)) {
      const file = join(tmp, ...path.split('/'));
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeSynced(file, data);
    }
    try {
      renameSync(tmp, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(dir)) throw err; // lost the race: theirs is as good
    }
    syncDir(root);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

function writeSynced(file: string, data: Uint8Array): void {
  const fd = openSync(file, 'wx', 0o600);
  try {
    let done = 0;
    while (done < data.byteLength) done += writeSync(fd, data, done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
