// Every error the bridge raises or answers, as a value with a stable code.
//
// Code that reacts to an error checks `err.code`, never the message. Errors the
// bridge answers to the cloud carry the HTTP status of that answer; link errors
// carry the WebSocket close code to send. docs/errors.md documents every code.

/** HTTP status and meaning of each error the bridge answers under a request's id. */
export const ANSWERED = {
  NBW_ERR_ENVELOPE_INVALID: 400,
  NBW_ERR_POLICY_URI: 403,
  NBW_ERR_POLICY_METHOD: 403,
  NBW_ERR_OUTCOME_UNKNOWN: 409,
  NBW_ERR_TOO_LARGE: 413,
  NBW_ERR_INTERNAL: 500,
  NBW_ERR_REST_UNREACHABLE: 502,
  NBW_ERR_REST_RESPONSE_TOO_LARGE: 502,
  NBW_ERR_REST_FAILED: 502,
  NBW_ERR_BACKEND_LOGIN: 502,
  NBW_ERR_ANSWER_TOO_LARGE: 502,
  NBW_ERR_BODY_NOT_TEXT: 502,
  NBW_ERR_QUEUE_FULL: 503,
  NBW_ERR_SHUTTING_DOWN: 503,
  NBW_ERR_RESPONSE_EXPIRED: 503,
  NBW_ERR_REST_TIMEOUT: 504,
} as const;

/** Errors that never become an answer: start-up, link and dropped input. */
export const INTERNAL = [
  'NBW_ERR_CONFIG',
  'NBW_ERR_FRAME_DROPPED',
  'NBW_ERR_CONNECT_REFUSED',
  'NBW_ERR_CONNECT_TIMEOUT',
  'NBW_ERR_ENDPOINT_UNUSABLE',
  'NBW_ERR_HEARTBEAT_TIMEOUT',
  'NBW_ERR_JOURNAL_CORRUPT',
  'NBW_ERR_JOURNAL_WRITE',
  'NBW_ERR_ANSWER_DROPPED',
  'NBW_ERR_POLL_FAILED',
  'NBW_ERR_USAGE',
] as const;

export type AnsweredCode = keyof typeof ANSWERED;
export type InternalCode = (typeof INTERNAL)[number];
export type ErrorCode = AnsweredCode | InternalCode;

/** Base class of every error the bridge raises. */
export class BridgeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BridgeError';
    this.code = code;
  }
}

/** An error answered to the cloud as a COMMAND RESPONSE with `status`. */
export class AnsweredError extends BridgeError {
  declare readonly code: AnsweredCode;
  readonly status: number;
  constructor(code: AnsweredCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'AnsweredError';
    this.status = ANSWERED[code];
  }
}

/** A configuration problem: start-up stops with exit code 2. `problems` holds one line per bad key. */
export class ConfigError extends BridgeError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('NBW_ERR_CONFIG', problems.join('; '));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** A link-level failure; `closeCode` is the WebSocket close code the bridge sends for it. */
export class LinkError extends BridgeError {
  readonly closeCode: number;
  constructor(code: InternalCode, message: string, closeCode: number) {
    super(code, message);
    this.name = 'LinkError';
    this.closeCode = closeCode;
  }
}

/** A poll of the REST API for notifications that did not work; `retryAfterMs` says when to try again, if the server said. */
export class PollError extends BridgeError {
  readonly status: number;
  readonly retryAfterMs: number | null;
  constructor(message: string, status: number, retryAfterMs: number | null = null) {
    super('NBW_ERR_POLL_FAILED', message);
    // Stryker disable next-line StringLiteral: code reads err.code, never the name
    this.name = 'PollError';
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** A command line the CLI cannot run (an unknown flag, a missing value): exit code 2. */
export class UsageError extends BridgeError {
  constructor(message: string) {
    super('NBW_ERR_USAGE', message);
    this.name = 'UsageError';
  }
}

/** What a failed call's error names: the code underneath (ECONNREFUSED, a TLS error), else its message. */
export function failureOf(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' ? cause.code : (err as Error).message;
}

/** Every code, for documentation checks. */
export const ALL_CODES: readonly ErrorCode[] = [...(Object.keys(ANSWERED) as AnsweredCode[]), ...INTERNAL];

/**
 * Every code by name, for log lines: `{ code: CODE.NBW_ERR_FRAME_DROPPED }`. A code that does
 * not exist does not compile.
 */
export const CODE = Object.freeze(Object.fromEntries(ALL_CODES.map((c) => [c, c]))) as { readonly [K in ErrorCode]: K };
