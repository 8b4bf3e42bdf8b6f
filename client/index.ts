/** natter client SDK: `NatterClient` (WebSocket: live messages, resume, retries) and `NatterApi` (REST). */
export { NatterClient } from './natter-client.js';
export type { ClientEvents, ConnectionState, NatterClientOptions, RoomEvent, StateChange, TokenContext } from './natter-client.js';
export { NatterApi } from './http-api.js';
export type { HistoryQuery, NatterApiOptions, Room, TokenPair, User } from './http-api.js';
export { NatterError, type ClientErrorCode } from './errors.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { newClientMsgId, type PendingSend } from './outbox.js';
export type { SocketConstructor, SocketLike } from './socket.js';
export type { JoinResult, SendResult, UserRef, WireMessage } from '../src/protocol/frames.js';
