/**
 * 0003 (PostgreSQL only; nothing on SQLite): natter_append, a whole group-committed batch in one round trip.
 *
 * Called in autocommit, the call is its own transaction. It does what append-batch.ts does for SQLite, in the
 * same order and with the same answers:
 *   1. lock the batch's rooms FOR UPDATE in id order (no deadlock between processes);
 *   2. in a second statement — a fresh READ COMMITTED snapshot, taken after the locks, so a retry committed by
 *      another process meanwhile is seen — find the idempotency keys already stored, give the rest seqs
 *      last_seq+1… per room in input order, insert them and advance the rooms' last_seq;
 *   3. answer one row per input, in input order (`ord`): the message, whether it was a duplicate (stored before,
 *      or an earlier input of the same batch), or `missing` for an unknown room.
 * Data-modifying CTEs (`inserted`, `advanced`) run to completion whether or not the final select reads them.
 */
import { sql, type Kysely } from 'kysely';
import { isPostgres } from './dialect.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`
    create function natter_append(
      p_room_ids text[], p_sender_ids text[], p_sender_names text[], p_types text[], p_bodies text[],
      p_client_msg_ids text[], p_ids text[], p_created_ats bigint[]
    ) returns table (
      ord bigint, missing boolean, duplicate boolean, room_id text, seq bigint, id text, sender_id text,
      sender_name text, type text, body text, client_msg_id text, created_at bigint
    ) language plpgsql volatile as $fn$
    #variable_conflict use_column
    begin
      perform 1 from rooms r where r.id = any(p_room_ids) order by r.id for update;
      return query
      with input as (
        select u.*
        from unnest(p_room_ids, p_sender_ids, p_sender_names, p_types, p_bodies, p_client_msg_ids, p_ids, p_created_ats)
          with ordinality as u(room_id, sender_id, sender_name, type, body, client_msg_id, id, created_at, ord)
      ),
      known as (select r.id, r.last_seq from rooms r where r.id = any(p_room_ids)),
      stored as (
        select i.ord, m.*
        from input i
        cross join lateral (
          select * from messages m
          where m.room_id = i.room_id and m.sender_id = i.sender_id and m.client_msg_id = i.client_msg_id
          limit 1
        ) as m
      ),
      -- Each input that is not stored yet, with the first input of the batch carrying the same key.
      unstored as (
        select i.*,
          case when i.client_msg_id is null then i.ord
               else min(i.ord) over (partition by i.room_id, i.sender_id, i.client_msg_id) end as first_ord
        from input i
        where exists (select 1 from known k where k.id = i.room_id)
          and not exists (select 1 from stored s where s.ord = i.ord)
      ),
      fresh as (
        select u.*, k.last_seq + row_number() over (partition by u.room_id order by u.ord) as seq
        from unstored u join known k on k.id = u.room_id
        where u.ord = u.first_ord
      ),
      inserted as (
        insert into messages (room_id, seq, id, sender_id, sender_name, type, body, client_msg_id, created_at)
        select f.room_id, f.seq, f.id, f.sender_id, f.sender_name, f.type, f.body, f.client_msg_id, f.created_at
        from fresh f
        returning 1
      ),
      advanced as (
        update rooms r set last_seq = x.last_seq
        from (select f.room_id, max(f.seq) as last_seq from fresh f group by f.room_id) as x
        where r.id = x.room_id
        returning 1
      )
      select i.ord,
        k.id is null,
        k.id is not null and f.ord is distinct from i.ord,
        coalesce(s.room_id, f.room_id, i.room_id),
        coalesce(s.seq, f.seq),
        coalesce(s.id, f.id),
        coalesce(s.sender_id, f.sender_id),
        coalesce(s.sender_name, f.sender_name),
        coalesce(s.type, f.type),
        coalesce(s.body, f.body),
        coalesce(s.client_msg_id, f.client_msg_id),
        coalesce(s.created_at, f.created_at)
      from input i
      left join known k on k.id = i.room_id
      left join stored s on s.ord = i.ord
      left join unstored u on u.ord = i.ord
      left join fresh f on f.ord = coalesce(u.first_ord, -1)
      order by i.ord;
    end
    $fn$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`drop function if exists natter_append(text[], text[], text[], text[], text[], text[], text[], bigint[])`.execute(db);
}
