import { ERROR_CODES, type ErrorCode } from '../protocol/errors.js';

/** The one domain error. No HTTP status or close code here: the two edges map `code`. */
export class ChatError extends Error {
  readonly code: ErrorCode;
  readonly temporary: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChatError';
    this.code = code;
    this.temporary = ERROR_CODES[code].temporary;
  }
}

export const isChatError = (e: unknown): e is ChatError => e instanceof ChatError;
