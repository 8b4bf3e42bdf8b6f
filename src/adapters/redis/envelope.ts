/** Inter-instance envelopes as they travel through Redis: JSON, checked on the way in. */
import type { ControlEvent, Envelope } from '../../core/ports.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isUser = (v: unknown) => isObject(v) && typeof v.id === 'string' && typeof v.name === 'string';

function isMessage(v: unknown): boolean {
  return (
    isObject(v) &&
    typeof v.id === 'string' &&
    typeof v.roomId === 'string' &&
    Number.isSafeInteger(v.seq) &&
    typeof v.senderId === 'string' &&
    typeof v.senderName === 'string' &&
    (v.type === 'text' || v.type === 'system') &&
    typeof v.body === 'string' &&
    (v.clientMsgId === null || typeof v.clientMsgId === 'string') &&
    Number.isSafeInteger(v.createdAt)
  );
}

/** Answers the envelope, or undefined when the payload is not one (counted and logged by the caller). */
export function parseEnvelope(raw: string): Envelope | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isObject(v) || typeof v.room !== 'string') return undefined;
  switch (v.kind) {
    case 'message':
      return isMessage(v.message) && (v.message as { roomId: string }).roomId === v.room ? (v as Envelope) : undefined;
    case 'presence':
      return (v.event === 'joined' || v.event === 'left') && isUser(v.user) ? (v as Envelope) : undefined;
    case 'typing':
      return isUser(v.user) ? (v as Envelope) : undefined;
    default:
      return undefined;
  }
}

/** Answers the control event, or undefined when the payload is not one. */
export function parseControl(raw: string): ControlEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isObject(v) || typeof v.user !== 'string') return undefined;
  if (v.kind === 'user.revoked' && (v.reason === 'logout' || v.reason === 'password' || v.reason === 'admin')) return v as ControlEvent;
  if (v.kind === 'room.removed' && typeof v.room === 'string' && (v.reason === 'kicked' || v.reason === 'banned')) return v as ControlEvent;
  return undefined;
}
