/**
 * The one error catalogue. Every failure a client can see — an HTTP error body or a WebSocket error reply —
 * carries one of these codes. `temporary: true` means "the same request may succeed if retried later".
 * docs/protocol.md documents every code (a test checks it).
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: { temporary: false, description: 'A field is missing, has the wrong type or is out of range.' },
  MALFORMED_FRAME: { temporary: false, description: 'The frame is not a JSON object with a string "type".' },
  UNKNOWN_COMMAND: { temporary: false, description: 'The frame "type" is not a known command.' },
  UNAUTHENTICATED: { temporary: false, description: 'No valid access token was presented.' },
  TOKEN_INVALID: { temporary: false, description: 'The access or refresh token is malformed, forged, expired or revoked.' },
  INVALID_CREDENTIALS: { temporary: false, description: 'Unknown username or wrong password (deliberately indistinguishable).' },
  USERNAME_TAKEN: { temporary: false, description: 'Another account already uses this username (case-insensitive).' },
  WEAK_PASSWORD: { temporary: false, description: 'The password is shorter than 12 or longer than 256 characters.' },
  FORBIDDEN: { temporary: false, description: 'You may not do this (e.g. a non-owner adding members).' },
  NOT_FOUND: { temporary: false, description: 'No such route or resource.' },
  ROOM_NOT_FOUND: { temporary: false, description: 'The room does not exist, or it is private and you are not a member.' },
  ROOM_NAME_TAKEN: { temporary: false, description: 'Another room already uses this name (case-insensitive).' },
  USER_NOT_FOUND: { temporary: false, description: 'The user named does not exist.' },
  NOT_JOINED: { temporary: false, description: 'This connection has not joined the room (send "room.join" first).' },
  ALREADY_AUTHENTICATED: { temporary: false, description: 'An "auth" frame arrived on an already authenticated connection.' },
  BANNED: { temporary: false, description: 'The room owner banned you from this room.' },
  LIMIT_EXCEEDED: { temporary: false, description: 'A fixed limit was reached (e.g. 128 rooms joined on one connection).' },
  RATE_LIMITED: { temporary: true, description: 'Too many requests; retry after the delay given in the message (and Retry-After over HTTP).' },
  UNAVAILABLE: { temporary: true, description: 'A backing service (database, broker) is unavailable; retry later.' },
  INTERNAL: { temporary: true, description: 'An unexpected server error; it has been logged with a correlation id.' },
} as const satisfies Record<string, { temporary: boolean; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  temporary: boolean;
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

/**
 * WebSocket close codes natter uses. 1000–1015 are RFC 6455 codes; 4000–4499 mean "reconnect";
 * 4500–4999 mean "do not reconnect without changing something".
 */
export const CLOSE_CODES = {
  NORMAL: { code: 1000, reconnect: false, description: 'Normal closure (the client asked to close).' },
  GOING_AWAY: { code: 1001, reconnect: true, description: 'The server is shutting down; reconnect (to another instance).' },
  UNSUPPORTED_DATA: { code: 1003, reconnect: false, description: 'A binary frame was sent; natter speaks JSON text frames only.' },
  INVALID_PAYLOAD: { code: 1007, reconnect: false, description: 'A text frame was not valid UTF-8.' },
  POLICY_VIOLATION: { code: 1008, reconnect: false, description: 'Authentication failed: missing, malformed, forged or expired token, or no auth frame in time.' },
  MESSAGE_TOO_BIG: { code: 1009, reconnect: false, description: 'A frame was larger than 64 KiB.' },
  SLOW_CONSUMER: { code: 4001, reconnect: true, description: 'The client stopped reading: 1 MiB was queued for it. Reconnect and resume with since.' },
  TOKEN_EXPIRED: { code: 4002, reconnect: true, description: 'The access token expired and no fresh one arrived in band within the grace period.' },
  SESSION_REVOKED: { code: 4003, reconnect: true, description: "The user's sessions were revoked (logout, password change, admin); refresh the token first." },
  SERVER_DRAINING: { code: 4010, reconnect: true, description: 'This instance is shutting down (deploy or restart): reconnect after a short jittered delay, to any instance, and resume with since.' },
  PROTOCOL_VIOLATION: { code: 4500, reconnect: false, description: 'Repeated malformed frames; fix the client before reconnecting.' },
  TOO_MANY_CONNECTIONS: { code: 4501, reconnect: false, description: 'The user already holds the maximum number of sockets on this instance; close one first.' },
} as const satisfies Record<string, { code: number; reconnect: boolean; description: string }>;

export type CloseName = keyof typeof CLOSE_CODES;
