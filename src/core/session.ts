import type { Push } from '../protocol/frames.js';
import type { Principal, SessionId } from './types.js';

/**
 * What the core sees of one connection. The transport implements it: `push` encodes and writes (the same Push
 * object may be given to many sessions, so encode it once), `drained` resolves when the socket's send buffer
 * is low enough to write more (used while replaying a long backlog).
 */
export interface SessionPort {
  readonly id: SessionId;
  readonly principal: Principal;
  push(frame: Push): void;
  drained(): Promise<void>;
  /** Ends the connection for a domain reason (the transport picks the close code): `revoked` = tokens revoked. */
  end(reason: 'revoked'): void;
}
