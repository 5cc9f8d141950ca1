// Frames in and out. Reading is read.ts's, writing encode.ts's; what is left here needs the
// schemas (envelope.ts): the words for what is wrong with a COMMAND REQUEST, and the
// lenient forms the common reader leaves to them. The serving path loads this module only
// when a frame needs it; tools and tests use decodeFrame, which is read.ts plus this.
//
// decodeFrame never throws: every frame becomes exactly one Inbound value.
import type { z } from 'zod';
import { AnsweredError } from '../errors.js';
import { CommandRequest } from './envelope.js';
import { readFrame, type Inbound, type Unchecked } from './read.js';

export { decodeOversized, readFrame, type Delivered, type Inbound, type Unchecked } from './read.js';
export * from './encode.js';

/** A short description of what a zod error found, naming each field. */
export function describeIssues(error: z.ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((i) => {
    const path = i.path.map(String).join('.');
    return path ? `${path}: ${i.message}` : i.message;
  });
  if (error.issues.length > max) parts.push(`and ${error.issues.length - max} more`);
  return parts.join('; ');
}

/** Reads, by the schema, a COMMAND REQUEST the common reader left unchecked: a command, or a 400 saying what is wrong. */
export function checkCommand(u: Unchecked): Inbound {
  const parsed = CommandRequest.safeParse(u.msg);
  if (parsed.success) return { kind: 'command', command: parsed.data };
  return {
    kind: 'invalid',
    id: u.id,
    error: new AnsweredError('NBW_ERR_ENVELOPE_INVALID', `invalid COMMAND REQUEST: ${describeIssues(parsed.error)}`),
  };
}

/** Decodes one text frame, the schema reading what the common reader leaves to it. */
export function decodeFrame(text: string, maxDepth?: number): Inbound {
  const r = readFrame(text, maxDepth);
  return r.kind === 'unchecked' ? checkCommand(r) : r;
}
