package dev.cutover.replicator.relay;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.sql.Sql;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

/**
 * The {@code pgoutput} messages of a logical replication slot on the source, read over a
 * replication connection of its own; decode them with {@link PgOutputDecoder}. Used by one thread.
 *
 * <p>Design notes. The slot's {@code confirmed_flush_lsn} moves only through {@link #confirm}, once
 * the caller has committed on the target what came before it: PgJDBC's periodic status updates
 * report the flushed position last confirmed, never what was merely received, so a crash resends
 * everything not confirmed. The position to confirm is a {@link PgOutputDecoder.Commit#endLsn()},
 * or, when the stream has been quiet, {@link #receivedThrough()}: the server's keepalives move
 * PgJDBC's receive position past WAL with nothing published (other tables, other databases), which
 * confirmed keeps the slot from holding that WAL. A keepalive can also arrive while a transaction is
 * being sent (its Begin received, not its Commit) and name a position past that transaction's
 * commit; confirming it would make a restart skip the transaction, so no position is offered then.
 */
public final class SlotStream implements AutoCloseable {
  /** What the server accepts as a slot name; PgJDBC sends it unquoted. */
  private static final Pattern SLOT_NAME = Pattern.compile("[a-z0-9_]{1,63}");

  private final Connection connection;
  private final PGReplicationStream stream;
  private boolean inTransaction;

  private SlotStream(Connection connection, PGReplicationStream stream) {
    this.connection = connection;
    this.stream = stream;
  }

  /**
   * Starts streaming {@code slot} (made with the {@code pgoutput} plugin) for {@code publication}.
   *
   * @param start where to start: transactions that committed before it are not sent; {@link
   *     LogSequenceNumber#INVALID_LSN} or anything before the slot's {@code confirmed_flush_lsn}
   *     starts there
   * @param statusInterval how often PgJDBC reports the confirmed position to the server by itself
   * @param networkTimeout how long any read or write on the connection may wait for the server
   *     (zero: no limit), so that a silent server cannot hold the caller in a message, in starting
   *     the stream or in stopping it
   * @throws IllegalArgumentException for a slot name the server would refuse
   */
  public static SlotStream open(Endpoint source, String slot, String publication, LogSequenceNumber start, Duration statusInterval,
      Duration networkTimeout) throws ReplicatorException, SQLException {
    if (!SLOT_NAME.matcher(slot).matches()) {
      throw new IllegalArgumentException("slot name '" + slot + "' is not 1 to 63 lower case letters, digits and underscores");
    }
    Connection c = source.connectReplication();
    try {
      Sql.answerWithin(networkTimeout, c);
      PGReplicationStream stream = c.unwrap(PGConnection.class).getReplicationAPI().replicationStream().logical()
          .withSlotName(slot)
          .withStartPosition(start)
          .withSlotOption("proto_version", "1")
          .withSlotOption("publication_names", publicationNames(publication))
          .withStatusInterval(Math.toIntExact(statusInterval.toMillis()), TimeUnit.MILLISECONDS)
          .start();
      return new SlotStream(c, stream);
    } catch (SQLException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  /**
   * The option value naming one publication: pgoutput splits it as a list of identifiers, so the
   * name is double-quoted; PgJDBC puts it between single quotes without escaping, so those are doubled.
   */
  static String publicationNames(String publication) {
    return ('"' + publication.replace("\"", "\"\"") + '"').replace("'", "''");
  }

  /**
   * The next message, or null when none has arrived; answers the server's keepalives and sends the
   * periodic status update meanwhile.
   */
  public ByteBuffer readPending() throws SQLException {
    ByteBuffer message = stream.readPending();
    if (message != null && message.hasRemaining()) {
      byte kind = message.get(message.position());
      if (kind == 'B') {
        inTransaction = true;
      } else if (kind == 'C') {
        inTransaction = false;
      }
    }
    return message;
  }

  /** PgJDBC's receive position: the last message's WAL position, or a later keepalive's. */
  public LogSequenceNumber lastReceive() {
    return stream.getLastReceiveLSN();
  }

  /**
   * The position through which every transaction has been received, when no transaction is half
   * received (see the class notes): once everything read so far is committed on the target, the
   * position to {@link #confirm} and to start from next time. Empty between a Begin and its Commit.
   * Before the server's first message it is the start position given.
   */
  public Optional<LogSequenceNumber> receivedThrough() {
    return inTransaction ? Optional.empty() : Optional.of(stream.getLastReceiveLSN());
  }

  /**
   * Tells the server that everything before {@code flushed} is committed on the target, at once:
   * the slot's {@code confirmed_flush_lsn} moves there and its WAL before it may go.
   */
  public void confirm(LogSequenceNumber flushed) throws SQLException {
    stream.setAppliedLSN(flushed);
    stream.setFlushedLSN(flushed);
    stream.forceUpdateStatus();
  }

  /** Stops streaming and closes the replication connection. */
  @Override
  public void close() throws SQLException {
    try {
      stream.close();
    } finally {
      connection.close();
    }
  }
}
