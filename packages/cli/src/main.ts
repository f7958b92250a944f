#!/usr/bin/env node
// The `shmkit` bin: runs the command line and exits with its status once
// the output is flushed.
import { run } from './cli';

void run(process.argv.slice(2)).then((status) => {
  process.exitCode = status;
});
