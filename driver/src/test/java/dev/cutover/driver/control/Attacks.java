package dev.cutover.driver.control;

import java.util.List;

/**
 * What a role outside the control plane tried against it (issue 11): each statement must be
 * refused with {@code 42501}, whatever switch is running.
 */
public final class Attacks {
  /** Version 1 signatures and today's, the slot functions, the tables and sequences behind them. */
  public static final List<String> OUTSIDER = List.of(
      "SELECT cutover.lower_fence()",
      "SELECT cutover.raise_fence(1)",
      "SELECT cutover.raise_fence('svc', 'x', 'ghost', 100)",
      "SELECT cutover.begin_switch('svc', 'forged', 'old', 'new')",
      "SELECT cutover.write_barrier('m')",
      "SELECT cutover.write_barrier('svc', 'forged')",
      "SELECT cutover.write_probe()",
      "SELECT cutover.finish_switch('svc', 'forged', 'released', 'm', NULL)",
      "SELECT cutover.release_switch('svc', 'forged', 'm', 'ghost', 0)",
      "SELECT cutover.abort_switch('svc', 'forged', 'no')",
      "SELECT * FROM cutover.heartbeat('svc', 'ghost')",
      "SELECT * FROM cutover.heartbeat('svc', 'ghost', 'new', 'old', 'idle', 5000)",
      "SELECT cutover.request_slot_at_switch('pinned')",
      "SELECT cutover.create_slots_at_switch()",
      "SELECT cutover.open_target('svc', 'forged', 0)",
      "SELECT * FROM cutover.slots_at_switch()",
      "SELECT cutover.make_slots_at_switch('svc', 'forged', 0, 1000)",
      "SELECT * FROM cutover.miss_slots_at_switch('svc', 'forged', 'no')",
      "SELECT cutover.request_abort('svc', 'no')",
      "SELECT cutover.set_force('svc', true)",
      "SELECT cutover.grant_control_plane('intruder')",
      "SELECT cutover.lead_key('svc', 'forged')",
      "SELECT cutover.take_lead('svc', 'forged')",
      "SELECT * FROM cutover.service_names()",
      "SELECT cutover.switch_leader_pid('svc')",
      "SELECT * FROM cutover.switch_leader('svc')",
      "SELECT cutover.not_ready('svc', 'ghost', 'forged', 'no')",
      "SELECT * FROM cutover.not_ready_peers('svc', 'forged', 5000)",
      "SELECT cutover.claim_target('svc', 'forged', 'elsewhere')",
      "SELECT cutover.database_identity()",
      "INSERT INTO cutover.barrier (marker) VALUES ('m')",
      "UPDATE cutover.switch SET state = 'released'",
      "SELECT nextval('cutover.fence_epoch')",
      "SELECT last_value FROM cutover.lead_secret",
      "SET session_replication_role = replica");

  private Attacks() {}
}
