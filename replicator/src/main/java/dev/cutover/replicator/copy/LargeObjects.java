package dev.cutover.replicator.copy;

import static dev.cutover.common.Transactions.inTransaction;

import dev.cutover.common.Transactions;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Large objects ({@code pg_largeobject}), which logical replication never carries: copied by
 * {@code start} from its snapshot, compared by {@code verify}, and brought up to date by
 * {@code sync-large-objects}, each with its oid, owner and grants as on old.
 *
 * <p>Data moves in pieces of {@link #PIECE} bytes ({@code lo_get(oid, offset, length)} on old,
 * {@code lo_put} on new), so an object of any size never has to fit in memory. Checksums are
 * {@code md5} of the whole object on each server: verify reads every object once per side.
 */
public final class LargeObjects {
  /** Bytes read and written at a time. */
  static final int PIECE = 1 << 20;

  /**
   * What {@link #sync} did.
   *
   * @param copied objects created on new (missing there)
   * @param replaced objects whose contents differed and were written again
   * @param removed objects on new that old no longer has
   * @param bytes bytes written on new
   */
  public record SyncReport(long copied, long replaced, long removed, long bytes) {}

  /**
   * One object that differs.
   *
   * @param oid its oid
   * @param kind {@code missing-on-target}, {@code extra-on-target} or {@code different}
   */
  public record Difference(long oid, String kind) {}

  /**
   * How a side's checksums are read: one statement that hashes every large object there, which may
   * rightly take minutes; as any statement, or watched where the others have a read limit ({@code
   * sync-large-objects}).
   */
  @FunctionalInterface
  public interface ChecksumRead {
    Map<Long, String> run(Connection side, Transactions.Work<Map<Long, String>> checksums) throws SQLException;
  }

  private LargeObjects() {}

  /** How many large objects the database has. */
  public static long count(Connection c) throws SQLException {
    return Sql.number(c, "SELECT count(*) FROM pg_largeobject_metadata");
  }

  /**
   * Copies every large object of {@code old} (read in its current transaction, e.g. under start's
   * snapshot) to {@code nw}, which must have none of them; commits on {@code nw} after each object.
   *
   * @return bytes copied
   */
  static long copyAll(Connection old, Connection nw) throws SQLException {
    long bytes = 0;
    for (long oid : oids(old)) {
      bytes += copy(old, nw, oid);
      nw.commit();
    }
    return bytes;
  }

  /**
   * Brings new's large objects to old's current state: copies the missing, rewrites the
   * different, removes those old no longer has. Runs in autocommit on both, each side's checksums
   * read by {@code read}.
   */
  public static SyncReport sync(Connection old, Connection nw, ChecksumRead read) throws SQLException {
    long copied = 0;
    long replaced = 0;
    long removed = 0;
    long bytes = 0;
    for (Difference d : compare(old, nw, read)) {
      bytes += inTransaction(nw, () -> mend(old, nw, d));
      switch (d.kind()) {
        case "extra-on-target" -> removed++;
        case "different" -> replaced++;
        default -> copied++;
      }
    }
    return new SyncReport(copied, replaced, removed, bytes);
  }

  /** Removes new's copy of {@code d}'s object unless it is missing there, copies old's unless it is extra; the bytes copied. */
  private static long mend(Connection old, Connection nw, Difference d) throws SQLException {
    if (!d.kind().equals("missing-on-target")) {
      Sql.bool(nw, "SELECT lo_unlink(?::oid) IS NOT NULL", d.oid());
    }
    return d.kind().equals("extra-on-target") ? 0 : copy(old, nw, d.oid());
  }

  /** The objects that are missing, extra or different on {@code target}, by oid. */
  public static List<Difference> compare(Connection source, Connection target) throws SQLException {
    return compare(source, target, (side, checksums) -> checksums.run());
  }

  private static List<Difference> compare(Connection source, Connection target, ChecksumRead read) throws SQLException {
    Map<Long, String> s = read.run(source, () -> checksums(source));
    Map<Long, String> t = read.run(target, () -> checksums(target));
    TreeSet<Long> all = new TreeSet<>(s.keySet());
    all.addAll(t.keySet());
    List<Difference> out = new ArrayList<>();
    for (long oid : all) {
      String a = s.get(oid);
      String b = t.get(oid);
      if (b == null) {
        out.add(new Difference(oid, "missing-on-target"));
      } else if (a == null) {
        out.add(new Difference(oid, "extra-on-target"));
      } else if (!a.equals(b)) {
        out.add(new Difference(oid, "different"));
      }
    }
    return out;
  }

  private static List<Long> oids(Connection c) throws SQLException {
    List<Long> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT oid::bigint FROM pg_largeobject_metadata ORDER BY 1");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(rs.getLong(1));
      }
    }
    return out;
  }

  /** md5 of each object's contents and of its owner, by oid. */
  private static Map<Long, String> checksums(Connection c) throws SQLException {
    Map<Long, String> out = new LinkedHashMap<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT oid::bigint, md5(lo_get(oid)) || ' ' || pg_get_userbyid(lomowner)"
        + " FROM pg_largeobject_metadata ORDER BY 1"); ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.put(rs.getLong(1), rs.getString(2));
      }
    }
    return out;
  }

  /** Creates {@code oid} on new with old's contents, owner and grants; returns its size. */
  private static long copy(Connection old, Connection nw, long oid) throws SQLException {
    Sql.bool(nw, "SELECT lo_create(?::oid) IS NOT NULL", oid);
    long offset = 0;
    try (PreparedStatement read = old.prepareStatement("SELECT lo_get(?::oid, ?, ?)");
        PreparedStatement write = nw.prepareStatement("SELECT lo_put(?::oid, ?, ?)")) {
      while (true) {
        read.setLong(1, oid);
        read.setLong(2, offset);
        read.setInt(3, PIECE);
        byte[] piece;
        try (ResultSet rs = read.executeQuery()) {
          rs.next();
          piece = rs.getBytes(1);
        }
        if (piece == null || piece.length == 0) {
          break;
        }
        write.setLong(1, oid);
        write.setLong(2, offset);
        write.setBytes(3, piece);
        write.execute();
        offset += piece.length;
        if (piece.length < PIECE) {
          break;
        }
      }
    }
    String owner = Sql.string(old, "SELECT pg_get_userbyid(lomowner) FROM pg_largeobject_metadata WHERE oid = ?::oid", oid);
    if (owner != null && Sql.bool(nw, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ?)", owner)) {
      Sql.execute(nw, "ALTER LARGE OBJECT " + oid + " OWNER TO " + Sql.ident(owner));
    }
    try (PreparedStatement ps = old.prepareStatement("SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN NULL"
        + " ELSE pg_get_userbyid(a.grantee) END FROM pg_largeobject_metadata m, aclexplode(m.lomacl) a"
        + " WHERE m.oid = ?::oid AND a.grantee <> m.lomowner")) {
      ps.setLong(1, oid);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String grantee = rs.getString(2);
          // A grant to a role new does not have cannot be made; roles are copied with the schema or by hand.
          if (grantee == null || Sql.bool(nw, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ?)", grantee)) {
            Sql.execute(nw, "GRANT " + rs.getString(1) + " ON LARGE OBJECT " + oid + " TO " + (grantee == null ? "PUBLIC" : Sql.ident(grantee)));
          }
        }
      }
    }
    return offset;
  }
}
