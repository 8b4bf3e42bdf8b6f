/** HTTP request and response schemas (TypeBox -> JSON Schema -> validation, serialization and OpenAPI). */
import { Type } from 'typebox';

export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), temporary: Type.Boolean() }),
});

export const UserView = Type.Object({ id: Type.String(), username: Type.String(), created_at: Type.String() });

export const Credentials = Type.Object(
  { username: Type.String({ maxLength: 64 }), password: Type.String({ maxLength: 1024 }) },
  { additionalProperties: false },
);

export const TokenPair = Type.Object({
  token_type: Type.Literal('Bearer'),
  access_token: Type.String(),
  expires_in: Type.Integer({ description: 'seconds until the access token expires' }),
  refresh_token: Type.String(),
  refresh_expires_in: Type.Integer(),
  user: UserView,
});

export const ChangePasswordBody = Type.Object(
  { current_password: Type.String({ maxLength: 1024 }), new_password: Type.String({ maxLength: 1024 }) },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false });

export const RoomView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  visibility: Type.Union([Type.Literal('public'), Type.Literal('private')]),
  owner_id: Type.String(),
  created_at: Type.String(),
  member: Type.Optional(Type.Boolean()),
  last_seq: Type.Optional(Type.Integer()),
});

export const CreateRoomBody = Type.Object(
  { name: Type.String({ maxLength: 256 }), visibility: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private')])) },
  { additionalProperties: false },
);

export const AddMemberBody = Type.Object({ username: Type.String({ maxLength: 64 }) }, { additionalProperties: false });

export const RoomParams = Type.Object({ room: Type.String({ minLength: 1, maxLength: 64 }) });

export const HistoryQuery = Type.Object(
  {
    before: Type.Optional(Type.Integer({ minimum: 1 })),
    after: Type.Optional(Type.Integer({ minimum: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  },
  { additionalProperties: false },
);

export const MessageView = Type.Object({
  id: Type.String(),
  room: Type.String(),
  seq: Type.Integer(),
  sender: Type.Object({ id: Type.String(), name: Type.String() }),
  type: Type.Union([Type.Literal('text'), Type.Literal('system')]),
  body: Type.String(),
  client_msg_id: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
});

export const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, ErrorResponse]));
