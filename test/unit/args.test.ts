import { describe, expect, it } from 'vitest';
import { helpText, parseCli, UsageError } from '../../src/cli/args.js';
import { schemaLeaves } from '../../src/config/leaves.js';

describe('parseCli', () => {
  it('reads the command, operands, --config and config flags', () => {
    const a = parseCli(['replay', 'a.json', 'b.json', '--config', '/etc/x.json', '--concurrency', '3', '--rest-base-url', 'http://127.0.0.1:1', '--cloud-allow-insecure']);
    expect(a).toMatchObject({
      command: 'replay',
      operands: ['a.json', 'b.json'],
      configFile: '/etc/x.json',
      overrides: { 'queue.concurrency': '3', 'rest.baseUrl': 'http://127.0.0.1:1', 'cloud.allowInsecure': 'true' },
    });
  });

  it('knows --help, --version and --keep-running', () => {
    expect(parseCli(['--help']).help).toBe(true);
    expect(parseCli(['-V']).version).toBe(true);
    expect(parseCli(['demo', '--keep-running']).keepRunning).toBe(true);
    expect(parseCli([]).command).toBeNull();
  });

  it('refuses unknown commands and flags with a usage error', () => {
    expect(() => parseCli(['serve'])).toThrow(UsageError);
    expect(() => parseCli(['run', '--concurency', '3'])).toThrow(/concurency/);
    expect(() => parseCli(['run', '--cloud-token', 'x'])).toThrow(UsageError);
  });

  it('lists every flag and variable in --help', () => {
    const help = helpText();
    for (const leaf of schemaLeaves()) {
      if (leaf.flag) expect(help).toContain(`--${leaf.flag}`);
      if (leaf.env) expect(help).toContain(leaf.env);
    }
  });
});
