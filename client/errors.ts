import type { ErrorCode } from '../src/protocol/errors.js';

/** Codes the SDK adds to the server's catalogue: no reply in time, no connection, client closed, token refused. */
export type ClientErrorCode = 'TIMEOUT' | 'DISCONNECTED' | 'CLOSED' | 'AUTH_FAILED';

/** Every rejection from the SDK: a server error reply (`code` from the catalogue) or a client-side failure. */
export class NatterError extends Error {
  override readonly name = 'NatterError';
  constructor(
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    /** The same request may succeed later (server `temporary`, or a timeout/disconnect). */
    readonly temporary: boolean,
    /** HTTP status, for errors from the REST API. */
    readonly status?: number,
  ) {
    super(message);
  }
}
