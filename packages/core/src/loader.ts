/* eslint-disable @typescript-eslint/no-require-imports -- a .node addon can only be loaded with require */
// Finds and loads the native addon, napi-rs style: the file built in this
// package first (core.<platform>.node), then the prebuilt platform package
// (@shmkit/core-<platform>). If nothing loads, the error lists every place
// tried and why each failed.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';

import { describeReceived } from './describe';
import { codedError } from './errors';
import type { NativeBinding } from './native/index';
import { pointAtCaller } from './stack';

/** `linux-x64-gnu`, `linux-arm64-musl`...: the suffix napi-rs builds use. */
export function platformTriple(): string {
  const { platform, arch } = process;
  if (platform !== 'linux') return `${platform}-${arch}`;
  return `${platform}-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
}

function isMusl(): boolean {
  // glibc reports its version in the process report; musl does not.
  const report = process.report?.getReport() as
    | { header?: { glibcVersionRuntime?: string } }
    | undefined;
  return !report?.header?.glibcVersionRuntime;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? String(error)) : String(error);
}

function load(): NativeBinding {
  const triple = platformTriple();
  const attempts: string[] = [];
  const candidates: Array<[string, () => unknown]> = [];

  const override = process.env.SHMKIT_NATIVE_LIBRARY_PATH;
  if (override) candidates.push([override, () => require(override)]);

  // dist/loader.js -> the package root, where `napi build` puts the binary.
  const local = join(__dirname, '..', `core.${triple}.node`);
  candidates.push([
    local,
    () => {
      if (!existsSync(local)) throw new Error('file not found');
      return require(local);
    },
  ]);
  const platformPackage = `@shmkit/core-${triple}`;
  candidates.push([platformPackage, () => require(platformPackage)]);

  for (const [where, attempt] of candidates) {
    let binding: NativeBinding;
    try {
      binding = attempt() as NativeBinding;
    } catch (error) {
      attempts.push(`  - ${where}: ${describe(error)}`);
      continue;
    }
    // Native errors then word values, errno texts and stacks as the
    // TypeScript side does (see src/bind/error.rs).
    binding.errorsSetup(describeReceived, pointAtCaller, Array.from(getSystemErrorMap()));
    return binding;
  }
  throw codedError(
    'ERR_SHMKIT_NATIVE_LOAD',
    `@shmkit/core: cannot load the native addon for ${triple}. Tried:\n${attempts.join('\n')}\n` +
      `Install the platform package (npm i ${platformPackage}) or build it from source ` +
      `(pnpm --filter @shmkit/core build).`,
  );
}

/** The native binding, loaded once per process (and per worker thread). */
export const native: NativeBinding = load();
