// The addon's exports and their hand-written declarations (src/native/*.ts)
// stay in step, both ways: every function the addon exports is declared,
// and every declared function exists. The declared names are read by the
// TypeScript compiler from the NativeBinding interface itself, so an
// `extends` clause, a split file or an optional member counts as TypeScript
// sees it.
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { native } from '../src/internal';

const file = fileURLToPath(new URL('../src/native/index.ts', import.meta.url));
// Only the declarations' own files are read (no lib or @types): member
// names need nothing else, and `pnpm typecheck` compiles them fully.
const program = ts.createProgram([file], { noEmit: true, noLib: true, types: [] });

function declaredNames(): string[] {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const module = source && checker.getSymbolAtLocation(source);
  const symbol =
    module && checker.getExportsOfModule(module).find((s) => s.name === 'NativeBinding');
  if (!symbol) throw new Error('src/native/index.ts exports no NativeBinding');
  const type = checker.getDeclaredTypeOfSymbol(symbol);
  return checker.getPropertiesOfType(type).map((p) => p.name);
}

describe('native exports', () => {
  const declared = declaredNames().sort();
  const exported = Object.keys(native).sort();

  it('every export is declared', () => {
    expect(exported.filter((name) => !declared.includes(name))).toEqual([]);
  });

  it('every declaration is exported, as a function', () => {
    expect(declared.filter((name) => !exported.includes(name))).toEqual([]);
    const notFunctions = exported.filter(
      (name) => typeof (native as unknown as Record<string, unknown>)[name] !== 'function',
    );
    expect(notFunctions).toEqual([]);
  });

  it('reads a real list', () => {
    // Guards the two tests above against both sides coming back empty.
    expect(declared.length).toBeGreaterThan(70);
    expect(declared).toContain('mapAnonymous');
  });
});
