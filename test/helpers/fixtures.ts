/** The committed fixtures and the facts real tools recorded about them (fixtures/make.sh). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, '../../fixtures');

export interface FixtureEntry {
  file: string;
  facts: string;
  kind: 'disk' | 'not-a-disk';
  qemuFormat?: string;
  madeAs?: string;
  variant?: string;
}

/** Loads fixtures/index.json. A missing index or fixture is a failing test, never a skip. */
export function fixtureIndex(): FixtureEntry[] {
  return JSON.parse(readFileSync(join(FIXTURES, 'index.json'), 'utf8')) as FixtureEntry[];
}

export function facts(entry: FixtureEntry): Record<string, any> {
  return JSON.parse(readFileSync(join(FIXTURES, entry.facts), 'utf8')) as Record<string, any>;
}

export function fixturePath(file: string): string {
  return join(FIXTURES, file);
}
