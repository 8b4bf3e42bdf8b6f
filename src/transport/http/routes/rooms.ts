import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import type { AccessTokens } from '../../../core/ports.js';
import type { RoomService } from '../../../core/rooms.js';
import { asRoomId } from '../../../core/types.js';
import { toWireMessage, toWireRoom } from '../../../core/wire.js';
import { principalOf, requireUser } from '../auth-hook.js';
import { AddMemberBody, CreateRoomBody, HistoryQuery, MessageView, RoomParams, RoomView, errors } from '../schemas.js';

interface Options {
  rooms: RoomService;
  accessTokens: AccessTokens;
}

export const roomRoutes: FastifyPluginAsync<Options> = async (app, { rooms, accessTokens }) => {
  app.addHook('preHandler', requireUser(accessTokens));
  const security = [{ bearer: [] }];

  app.get(
    '/rooms',
    { schema: { tags: ['rooms'], summary: 'Rooms I can see: every public room and the private rooms I belong to', security, response: { 200: Type.Object({ rooms: Type.Array(RoomView) }), ...errors(401) } } },
    async (request) => ({ rooms: (await rooms.list(principalOf(request))).map(toWireRoom) }),
  );

  app.post<{ Body: Static<typeof CreateRoomBody> }>(
    '/rooms',
    { schema: { tags: ['rooms'], summary: 'Create a room (I become its owner)', security, body: CreateRoomBody, response: { 201: RoomView, ...errors(400, 401, 409) } } },
    async (request, reply) => {
      const room = await rooms.create(principalOf(request), request.body.name, request.body.visibility ?? 'public');
      return reply.status(201).send(toWireRoom(room));
    },
  );

  app.post<{ Params: Static<typeof RoomParams>; Body: Static<typeof AddMemberBody> }>(
    '/rooms/:room/members',
    {
      schema: {
        tags: ['rooms'],
        summary: 'Add a member (room owner only)',
        security,
        params: RoomParams,
        body: AddMemberBody,
        response: { 200: Type.Object({ user_id: Type.String(), added: Type.Boolean() }), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { added, userId } = await rooms.addMember(principalOf(request), asRoomId(request.params.room), request.body.username);
      return { user_id: userId, added };
    },
  );

  const MemberParams = Type.Object({ room: Type.String({ minLength: 1, maxLength: 64 }), username: Type.String({ minLength: 1, maxLength: 64 }) });
  const Removed = Type.Object({ user_id: Type.String(), removed: Type.Boolean() });

  app.delete<{ Params: Static<typeof MemberParams> }>(
    '/rooms/:room/members/:username',
    {
      schema: {
        tags: ['rooms'],
        summary: 'Remove (kick) a member (room owner only): their live subscriptions end on every instance at once',
        security,
        params: MemberParams,
        response: { 200: Removed, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const { userId, removed } = await rooms.remove(principalOf(request), asRoomId(request.params.room), request.params.username, 'kicked');
      return { user_id: userId, removed };
    },
  );

  app.post<{ Params: Static<typeof RoomParams>; Body: Static<typeof AddMemberBody> }>(
    '/rooms/:room/bans',
    {
      schema: {
        tags: ['rooms'],
        summary: 'Ban a user (room owner only): removed everywhere at once, and can neither rejoin nor be re-added',
        security,
        params: RoomParams,
        body: AddMemberBody,
        response: { 200: Removed, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { userId, removed } = await rooms.remove(principalOf(request), asRoomId(request.params.room), request.body.username, 'banned');
      return { user_id: userId, removed };
    },
  );

  app.get<{ Params: Static<typeof RoomParams>; Querystring: Static<typeof HistoryQuery> }>(
    '/rooms/:room/messages',
    {
      schema: {
        tags: ['rooms'],
        summary: 'History, keyset-paged by seq: before=SEQ (older, default: newest) or after=SEQ (newer); ascending',
        security,
        params: RoomParams,
        querystring: HistoryQuery,
        response: { 200: Type.Object({ messages: Type.Array(MessageView) }), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { before, after, limit } = request.query;
      const messages = await rooms.history(principalOf(request), asRoomId(request.params.room), { before, after, limit: limit ?? 50 });
      return { messages: messages.map(toWireMessage) };
    },
  );
};
