/**
 * Driver errors → domain errors. No raw driver error leaves the SQL store: a known unique violation becomes its
 * domain code, another integrity violation is a bug (INTERNAL), anything else means the database could not do
 * the work now (UNAVAILABLE, temporary). The driver error rides along as `cause` for the log, never in `message`.
 */
import { ChatError, isChatError } from '../../core/errors.js';

interface DriverError {
  /** better-sqlite3: 'SQLITE_CONSTRAINT_UNIQUE'…; pg: SQLSTATE '23505'… */
  code?: unknown;
  /** pg: the violated constraint's name. */
  constraint?: unknown;
  message?: unknown;
}

const driverError = (error: unknown): DriverError => (typeof error === 'object' && error !== null ? error : {});
const codeOf = (error: unknown): string => {
  const code = driverError(error).code;
  return typeof code === 'string' ? code : '';
};

export interface ConstraintRef {
  name: string;
  table: string;
  column: string;
}

/** True for a unique violation of that constraint (SQLite names table.column in the message; pg the constraint). */
export function isUniqueViolation(error: unknown, constraint: ConstraintRef): boolean {
  const { constraint: pgConstraint, message } = driverError(error);
  const code = codeOf(error);
  if (code === '23505') return pgConstraint === constraint.name;
  return (
    code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    typeof message === 'string' &&
    message.includes(`${constraint.table}.${constraint.column}`)
  );
}

export function isForeignKeyViolation(error: unknown): boolean {
  const code = codeOf(error);
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** An integrity violation (SQLSTATE class 23, SQLITE_CONSTRAINT_*). */
export function isIntegrityViolation(error: unknown): boolean {
  const code = codeOf(error);
  return code.startsWith('23') || code.startsWith('SQLITE_CONSTRAINT');
}

/**
 * An error caused by the rows written rather than by the database's state: integrity violations and data
 * exceptions (SQLSTATE class 22; SQLite TOOBIG/MISMATCH/RANGE). Retrying the same rows fails the same way.
 */
export function isRowError(error: unknown): boolean {
  const code = codeOf(error);
  return (
    isIntegrityViolation(error) ||
    code.startsWith('22') ||
    code === 'SQLITE_TOOBIG' ||
    code === 'SQLITE_MISMATCH' ||
    code === 'SQLITE_RANGE'
  );
}

/** Any error from the database as a ChatError (ChatErrors pass through unchanged). */
export function toStoreError(error: unknown): ChatError {
  if (isChatError(error)) return error;
  if (isRowError(error)) return new ChatError('INTERNAL', 'The database refused the data.', { cause: error });
  return new ChatError('UNAVAILABLE', 'The database is unavailable.', { cause: error });
}

/** Runs a database operation; rejects only with ChatErrors. */
export async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toStoreError(error);
  }
}

/**
 * What of a driver error may be logged. Never the error itself: pg attaches its client (with the connection
 * password) to pool errors, and row values can ride in `detail`.
 */
export function loggableError(error: unknown): { name: string; message: string; code?: string; stack?: string } {
  if (!(error instanceof Error)) return { name: 'NonError', message: String(error) };
  const code = codeOf(error);
  return { name: error.name, message: error.message, ...(code && { code }), ...(error.stack && { stack: error.stack }) };
}
