/** The WebSocket edge of the core: a typed command -> a ChatService call -> a reply. */
import type { ChatService } from '../../core/chat.js';
import type { Command } from '../../protocol/frames.js';
import type { SessionId } from '../../core/types.js';

export type Reply = { data: unknown; after?: () => void };

/** Runs one authenticated command. Throws ChatError for domain failures; `after` runs once the reply is written. */
export async function dispatch(chat: ChatService, session: SessionId, command: Exclude<Command, { type: 'auth' }>): Promise<Reply> {
  switch (command.type) {
    case 'room.join': {
      const joined = await chat.join(session, command.room, command.since);
      return { data: joined.result, after: joined.start };
    }
    case 'room.leave':
      await chat.leave(session, command.room);
      return { data: { room: command.room } };
    case 'message.send':
      return { data: await chat.send(session, command.room, command.body, command.client_msg_id) };
    case 'typing':
      await chat.typing(session, command.room);
      return { data: { room: command.room } };
    case 'presence.list':
      return { data: { room: command.room, members: await chat.who(session, command.room) } };
    case 'ping':
      return { data: { server_time: new Date().toISOString() } };
  }
}
