#!/usr/bin/env node
// mmap-file cat <file>                     print a file through a mapping
// mmap-file write <file> <sizeMB> [text]   create/size a file, write text, msync
import { catFile, writeFile } from './commands';

const USAGE = `usage: mmap-file cat <file>
       mmap-file write <file> <sizeMB> [text]`;

async function main(argv: string[]): Promise<number> {
  const [command, file, ...rest] = argv;
  if (command === 'cat' && file !== undefined && rest.length === 0) {
    await catFile(file, process.stdout);
    return 0;
  }
  if (command === 'write' && file !== undefined && rest.length >= 1 && rest.length <= 2) {
    const sizeMB = Number(rest[0]);
    const text = rest[1] ?? 'Hello from shmkit, written through a shared mapping.\n';
    const { size, written } = writeFile(file, sizeMB, text);
    console.log(`wrote ${written} bytes at offset 0 of ${file} (${size} bytes) and msync'ed them`);
    return 0;
  }
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error & { code?: string }) => {
    console.error(`mmap-file: ${error.message}${error.code ? ` (${error.code})` : ''}`);
    process.exitCode = 1;
  },
);
