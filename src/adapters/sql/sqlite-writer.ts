/**
 * The SQLite writer thread (a worker_threads entry): owns the connection that appends messages, so that a group
 * commit's inserts, WAL write and fsync never block the main event loop. One batch is one BEGIN IMMEDIATE …
 * COMMIT (append-batch.ts); the main thread sends the next batch only after this one's reply. Reads and every
 * other write stay on the main thread's connection; WAL lets both connections share the file.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { writeBatch } from './append-batch.js';
import { sqliteStatements } from './sql-append-statements.js';
import { openSqlite, rollbackQuietly } from './sqlite-open.js';
import { toWireFailure, toWireOutcome, type WriterReply, type WriterRequest } from './sqlite-writer-protocol.js';

const port = parentPort;
if (!port) throw new Error('sqlite-writer.ts runs as a worker thread');

const { filename, commits } = workerData as { filename: string; commits: Int32Array };
const db = openSqlite(filename);
const statements = sqliteStatements(db);
const begin = db.prepare('begin immediate');
const commit = db.prepare('commit');

port.on('message', (request: WriterRequest) => {
  if (request.kind === 'close') {
    db.close();
    port.close();
    return;
  }
  port.postMessage(append(request.id, request.inputs));
});

function append(id: number, inputs: Parameters<typeof writeBatch>[1]): WriterReply {
  try {
    begin.run();
    const outcomes = writeBatch(statements, inputs);
    commit.run();
    Atomics.add(commits, 0, 1); // tells the checkpointer thread there is something to copy
    return { id, outcomes: outcomes.map(toWireOutcome) };
  } catch (error) {
    rollbackQuietly(db);
    return { id, failure: toWireFailure(error) };
  }
}
