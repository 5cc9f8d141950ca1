// `nbwss-bridge replay FILE...`: COMMAND REQUEST files through the daemon's own validation,
// policy, queue and REST code; the answers come out as NDJSON in input order.
import { readFile } from 'node:fs/promises';
import { CommandService, DEFAULT_GROUP, keyOf, type Channel } from '../bridge/commands.js';
import type { Config } from '../config/load.js';
import { EXIT } from '../constants.js';
import type { Logger } from '../log/logger.js';
import { decodeFrame, type Inbound } from '../protocol/codec.js';
import { CommandQueue } from '../queue/queue.js';
import { Router } from '../backends/router.js';
import { IdStore } from '../dedupe/idstore.js';

export interface ReplayIo {
  log: Logger;
  /** One NDJSON line per answer. */
  out(line: string): void;
  /** One line per input that could not be replayed. */
  err(line: string): void;
  /** Reads an input ("-" is standard input); the file system when omitted. */
  read?(file: string): string | Promise<string>;
}

/** The envelopes in a file: one JSON document, or one per line (NDJSON). */
export function framesOf(text: string): string[] {
  try {
    JSON.parse(text);
    return [text];
  } catch {
    return text.split('\n').filter((l) => l.trim() !== '');
  }
}

/** Replays the files; resolves to the exit code (1 when some input could not be replayed). */
export async function replayFiles(config: Config, files: readonly string[], io: ReplayIo): Promise<number> {
  const router = new Router(config.backends, { connections: config.queue.concurrency, login: config.login }, io.log);
  // Answers are printed in input order: slot i holds input i's answer until all before it are out.
  const slots: (string | null | undefined)[] = [];
  const slotsById = new Map<string, number[]>();
  let printed = 0;
  let outstanding = 0;
  let allAnswered: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allAnswered = resolve;
  });
  const flush = () => {
    while (printed < slots.length && slots[printed] !== undefined) {
      const line = slots[printed++];
      if (line) io.out(line);
    }
  };
  const service = new CommandService({
    routes: router,
    queue: new CommandQueue({ concurrency: config.queue.concurrency, maxPending: Number.MAX_SAFE_INTEGER }),
    store: new IdStore({ ...config.dedupe, journal: null, log: io.log }),
    log: io.log,
    extensions: config.protocol.extensions,
  });
  const channel: Channel = {
    group: DEFAULT_GROUP,
    connection: 0,
    answers: {
      // An id given twice runs once, like a resend to the daemon; every input with it gets the answer.
      deliver: (key, frame) => {
        const waiting = slotsById.get(key) ?? [];
        slotsById.delete(key);
        for (const slot of waiting) slots[slot] = frame;
        flush();
        outstanding -= waiting.length;
        if (waiting.length && outstanding === 0) allAnswered();
      },
      crossedOnTheWay: () => false,
      onItsWay: () => false,
    },
  };

  let failed = false;
  const inputs: { where: string; msg: Inbound }[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await (io.read ?? ((f: string) => readFile(f, 'utf8')))(file);
    } catch (err) {
      io.err(`${file === '-' ? 'standard input' : file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      failed = true;
      continue;
    }
    framesOf(text).forEach((frame, i, all) => inputs.push({ where: all.length > 1 ? `${file === '-' ? 'stdin' : file}:${i + 1}` : file === '-' ? 'stdin' : file, msg: decodeFrame(frame) }));
  }
  for (const { where, msg } of inputs) {
    if (msg.kind !== 'command' && msg.kind !== 'invalid') {
      io.err(`${where}: not a COMMAND REQUEST (${msg.kind === 'drop' ? msg.reason : msg.kind}); skipped`);
      failed = true;
      continue;
    }
    const key = keyOf(DEFAULT_GROUP, msg.kind === 'command' ? msg.command.id : msg.id);
    slotsById.set(key, [...(slotsById.get(key) ?? []), slots.length]);
    slots.push(undefined);
  }
  outstanding = slots.length;
  if (outstanding === 0) allAnswered();
  for (const { msg } of inputs) if (msg.kind === 'command' || msg.kind === 'invalid') service.handle(msg, channel);
  await done;
  await router.close();
  return failed ? EXIT.failure : EXIT.ok;
}
