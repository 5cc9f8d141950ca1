// The NBWSS envelopes as zod schemas: the single source of truth for wire types.
//
// Inbound schemas are lenient where the meaning is unambiguous (a `parameters` object is
// serialized, header values that are numbers become strings, a lower-case method is
// upper-cased); outbound ones describe exactly what the bridge sends.
import { z } from 'zod';
import { BAD_HEADER_VALUE, HTTP_METHODS, MAX_ID_LENGTH, MAX_URI_LENGTH, PROTOCOL_VERSION, SAYS, TOKEN } from './wire.js';

export { BAD_HEADER_VALUE, HTTP_METHODS, MAX_ID_LENGTH, MAX_URI_LENGTH, PROTOCOL_VERSION, TOKEN };
export type { HttpMethod } from './wire.js';

export const Id = z.string().min(1, 'must not be empty').max(MAX_ID_LENGTH, SAYS.idTooLong);
export const Version = z.literal(PROTOCOL_VERSION, { error: SAYS.version });
export const TimeStamp = z.number({ error: SAYS.timeStamp }).nonnegative().finite();

const envelope = <T extends string, S extends string, P extends z.ZodType>(type: T, subType: S, payload: P) =>
  z.object({
    version: Version,
    id: Id,
    type: z.literal(type),
    subType: z.literal(subType),
    timeStamp: TimeStamp,
    payload,
  });

// ---- CONNECT ---------------------------------------------------------------

export const ConnectRequest = envelope('CONNECT', 'REQUEST', z.object({ token: z.string().min(1) }));
export const ConnectResponse = envelope('CONNECT', 'RESPONSE', z.object({ valid: z.boolean({ error: 'must be true or false' }) }));

// ---- COMMAND ---------------------------------------------------------------

const HeaderValue = z
  .union([z.string(), z.number(), z.boolean()], { error: 'header values must be strings' })
  .transform(String)
  .refine((v) => !BAD_HEADER_VALUE.test(v), 'header values must not contain control characters (but tab) or characters above U+00FF');

/** Header names to values. (A name `__proto__` never reaches the output: zod leaves it out.) */
export const RequestHeaders = z.record(z.string().regex(TOKEN, 'header names must be HTTP tokens'), HeaderValue, {
  error: 'must be an object of header names to values',
});

const Method = z
  .string({ error: 'must be a string' })
  .transform((m) => m.toUpperCase())
  .pipe(z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(', ')}` }));

/** The request body: a JSON-escaped string, or (leniently) a JSON object or array, serialized here. */
const Parameters = z
  .union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown()), z.null()], {
    error: 'must be a JSON-escaped string (or a JSON object)',
  })
  .optional()
  .transform((p) => (p === null || p === undefined ? undefined : typeof p === 'string' ? p : JSON.stringify(p)));

export const CommandRequestPayload = z.object({
  uri: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(MAX_URI_LENGTH, `must be at most ${MAX_URI_LENGTH} characters`),
  method: Method,
  headers: RequestHeaders.optional().transform((h) => h ?? {}),
  parameters: Parameters,
});
export const CommandRequest = envelope('COMMAND', 'REQUEST', CommandRequestPayload);

export const CommandResponsePayload = z.object({
  headers: z.record(z.string(), z.string()),
  responseCode: z.number().int(),
  body: z.string(),
  bodyEncoding: z.literal('base64').optional(),
});
export const CommandResponse = envelope('COMMAND', 'RESPONSE', CommandResponsePayload);

// ---- NOTIFICATION ----------------------------------------------------------

export const Notification = z.object({
  notificationType: z.string().min(1),
  object: z.string().min(1),
  data: z.array(z.record(z.string(), z.unknown())),
});
export const NotificationRequest = envelope('NOTIFICATION', 'REQUEST', z.array(Notification));
/** The cloud's acknowledgement; any payload is accepted. */
export const NotificationResponse = envelope('NOTIFICATION', 'RESPONSE', z.unknown());

export type ConnectRequest = z.infer<typeof ConnectRequest>;
export type ConnectResponse = z.infer<typeof ConnectResponse>;
export type CommandRequest = z.infer<typeof CommandRequest>;
export type CommandRequestPayload = z.infer<typeof CommandRequestPayload>;
export type CommandResponse = z.infer<typeof CommandResponse>;
export type CommandResponsePayload = z.infer<typeof CommandResponsePayload>;
export type NotificationRequest = z.infer<typeof NotificationRequest>;
export type NotificationResponse = z.infer<typeof NotificationResponse>;
