/** Messages between SqliteWriterThread (main thread) and its worker (sqlite-writer.ts): plain, cloneable data. */
import { ChatError } from '../../core/errors.js';
import type { AppendInput, AppendResult } from '../../core/ports.js';
import type { ErrorCode } from '../../protocol/errors.js';
import { newMessage, type Outcome } from './append-batch.js';

export type WriterRequest = { kind: 'append'; id: number; inputs: AppendInput[] } | { kind: 'close' };

/**
 * A fresh message travels back as its seq alone (the main thread has the rest: it sent the input); a duplicate as
 * the stored message; a ChatError as its code and message.
 */
export type WireOutcome = number | AppendResult | { code: ErrorCode; message: string };

/** What the transaction failed with: enough of the driver error (its `code`) for sql-errors.ts to classify it. */
export interface WireFailure {
  name: string;
  message: string;
  code?: string;
}

export type WriterReply = { id: number; outcomes: WireOutcome[] } | { id: number; failure: WireFailure };

export const toWireOutcome = (outcome: Outcome): WireOutcome => {
  if ('error' in outcome) return { code: outcome.error.code, message: outcome.error.message };
  return outcome.result.duplicate ? outcome.result : outcome.result.message.seq;
};

export const fromWireOutcome = (wire: WireOutcome, input: AppendInput): Outcome => {
  if (typeof wire === 'number') return { result: { message: newMessage(input, wire), duplicate: false } };
  return 'code' in wire ? { error: new ChatError(wire.code, wire.message) } : { result: wire };
};

export function toWireFailure(error: unknown): WireFailure {
  if (!(error instanceof Error)) return { name: 'NonError', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(typeof code === 'string' && { code }) };
}

export function fromWireFailure(failure: WireFailure): Error {
  const error = new Error(failure.message);
  error.name = failure.name;
  return failure.code === undefined ? error : Object.assign(error, { code: failure.code });
}
