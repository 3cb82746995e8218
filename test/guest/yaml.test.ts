/**
 * The YAML subset parser against PyYAML's safe_load of the same samples (test/guest/yaml/make.sh):
 * netplan, cloud.cfg and cloud-init network config in the shapes those tools write.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseYaml, YamlError } from '../../src/guest/parse/yaml.js';

const DIR = join(import.meta.dirname, 'yaml');
const samples = readdirSync(DIR).filter((f) => f.endsWith('.yaml') || f.endsWith('.cfg'));

describe('YAML subset', () => {
  it.each(samples)('%s parses to what PyYAML made of it', (name) => {
    const want = JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as unknown;
    expect(parseYaml(readFileSync(join(DIR, name), 'utf8'))).toEqual(want);
  });

  it('reports malformed input as YamlError and never throws anything else', () => {
    expect(() => parseYaml('a: [1, 2\n')).toThrow(YamlError);
    expect(() => parseYaml('a: 1\n  b: 2\n')).toThrow(YamlError);
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a:', '  b: 1', '- x', '  - [1, 2]', 'c: {d: e}', '    f: |', '      text', '"q', "k: 'v'", '---', '# c', '\tt: 1', 'g: >-'), { maxLength: 20 }), (lines) => {
        try {
          parseYaml(lines.join('\n'));
        } catch (e) {
          if (!(e instanceof YamlError)) throw e;
        }
      }),
    );
  });
});
