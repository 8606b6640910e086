/**
 * Files only the control plane's user may read (store key, token, signing key, TLS key): created
 * with mode 0600 and never opened through a symbolic link, so nobody with write access to the
 * directory can redirect a write elsewhere or read a key through a link they planted.
 */
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, openSync, readFileSync, writeSync } from 'node:fs';

export class PrivateFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrivateFileError';
  }
}

/** Undefined when the file does not exist; refuses a symbolic link or anything but a regular file. */
export function readPrivateFile(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new PrivateFileError(`${file} is a symbolic link: refusing to read a key through it`);
    throw err;
  }
  try {
    if (!fstatSync(fd).isFile()) throw new PrivateFileError(`${file} is not a regular file`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Creates the file with mode 0600; fails when anything (file or link) already has that name. */
export function writePrivateFileExclusive(file: string, content: string): void {
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

/** Appends to the file (created 0600), never through a link, and waits until it is on disk. */
export function appendPrivateFile(file: string, content: string): void {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new PrivateFileError(`${file} is a symbolic link: refusing to write through it`);
    throw err;
  }
  try {
    if (!fstatSync(fd).isFile()) throw new PrivateFileError(`${file} is not a regular file`);
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Refuses to open a store, key or certificate path that is a symbolic link. */
export function refuseSymlink(file: string, what: string): void {
  try {
    if (lstatSync(file).isSymbolicLink()) throw new PrivateFileError(`${what} ${file} is a symbolic link: refusing to write through it`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
