package dev.cutover.replicator.status;

import dev.cutover.replicator.Side;
import dev.cutover.replicator.privileges.Capabilities;
import dev.cutover.replicator.privileges.Gap;
import dev.cutover.replicator.privileges.Requirements;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * Application tables on a direction's source whose owner's privileges the control schema's
 * installer lacks: given to another role since the install ({@code ALTER TABLE ... OWNER TO},
 * {@code REASSIGN OWNED}). Capture goes on (its functions run as the installer, which still owns
 * them), but a switch away from that side locks each table as the installer to raise its fence,
 * and {@code cleanup} drops their triggers: both are refused there. Status said nothing until every
 * switch aborted at its fence with a bare "permission denied" (r34).
 */
final class FenceOwnership {
  private FenceOwnership() {}

  /** One problem per owner of such tables on {@code source}, with its remedy; none without a control schema there. */
  static List<String> problems(Connection source, Side side) throws SQLException {
    String installer = Sql.string(source, "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'cutover'");
    if (installer == null) {
      return List.of();
    }
    String s = side.label();
    List<Gap> gaps = Requirements.ownership(side, installer, Capabilities.foreignTables(source, installer));
    return gaps.stream().map(g -> g.message() + " on " + s + ", where it installed the control schema: a switch from " + s
        + " locks every table as that role to raise its fence, and cleanup drops their triggers, so both are refused there"
        + " (the switch aborts at its fence); " + g.remedy() + " on " + s
        + (g.remedy().startsWith("GRANT ") ? ", or give them back (ALTER TABLE ... OWNER TO " + Sql.ident(installer) + ")" : ""))
        .toList();
  }
}
