/** Domain input rules. Each throws ChatError VALIDATION_FAILED / WEAK_PASSWORD with a precise message. */
import { ChatError } from './errors.js';

const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export const codePoints = (s: string): number => {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) i++;
    n++;
  }
  return n;
};

export function checkUsername(username: string): string {
  if (!USERNAME.test(username)) {
    throw new ChatError('VALIDATION_FAILED', 'username: 3 to 32 characters from A-Z a-z 0-9 _ . -');
  }
  return username;
}

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

export function checkPassword(password: string): string {
  const n = codePoints(password);
  if (n < PASSWORD_MIN || n > PASSWORD_MAX) {
    throw new ChatError('WEAK_PASSWORD', `password: ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`);
  }
  if (!password.isWellFormed() || password.includes('\u0000')) {
    throw new ChatError('VALIDATION_FAILED', 'password: must not contain NUL or lone surrogates');
  }
  return password;
}

export function checkRoomName(name: string): string {
  const trimmed = name.trim();
  const n = codePoints(trimmed);
  if (n < 1 || n > 64 || CONTROL.test(trimmed) || !trimmed.isWellFormed()) {
    throw new ChatError('VALIDATION_FAILED', 'name: 1 to 64 printable characters');
  }
  return trimmed;
}

/** Message bodies are stored byte-exact: no trimming, no escaping. Only the shape is checked. */
export function checkBody(body: string, maxChars: number): string {
  if (body.length === 0) throw new ChatError('VALIDATION_FAILED', 'body: must not be empty');
  if (body.includes('\u0000')) throw new ChatError('VALIDATION_FAILED', 'body: must not contain NUL');
  if (!body.isWellFormed()) throw new ChatError('VALIDATION_FAILED', 'body: must not contain lone surrogates');
  if (body.length > maxChars && codePoints(body) > maxChars) {
    throw new ChatError('VALIDATION_FAILED', `body: at most ${maxChars} characters`);
  }
  return body;
}
