/**
 * 0005: `rooms.access_rev`, the room's access revision (see RoomStore in core/ports.ts): incremented in the same
 * transaction as every kick that removed a member and every ban. Upkeep reads it with the room's head every round
 * and checks a subscription again only when the revision moved since it was authorized.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('rooms')
    .addColumn('access_rev', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('rooms').dropColumn('access_rev').execute();
}
