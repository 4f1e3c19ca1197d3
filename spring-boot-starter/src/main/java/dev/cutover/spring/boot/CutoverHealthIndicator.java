package dev.cutover.spring.boot;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.RouterMXBean;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * Actuator's {@code cutover} component: per router (a pool's connections share one), the side
 * that serves, what the flag asks for and its source's health, whether the control schema is on
 * both databases, what makes switches refused or could not be checked ({@code pendingGuarantees},
 * the MBean's text, which names the side and the remedy and carries no password), whether a switch
 * holds transactions right now, and the switch counts ({@code completed}, {@code aborted} after the
 * gate closed, {@code refused} before it, as the Micrometer binder's {@code outcome} tags them) and
 * last switch; {@code flagDisagreement} says why an instance serves a side its own flag does not ask for.
 *
 * <p>The status stays {@code UP} while routers serve, also when the flag source is interrupted or
 * off, disagrees with the peers', the control schema is missing or guarantees are pending (its
 * switches refused): the instance still serves on the last known side, and taking it out of a load
 * balancer for that would turn a flag outage, or a new database that is down, into an application
 * outage. Alert on the details or on the gauges instead. {@code UNKNOWN} until a first connection
 * has started a router.
 */
public final class CutoverHealthIndicator extends AbstractHealthIndicator {

  public CutoverHealthIndicator() {
    super("Cutover health check failed");
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) {
    List<RouterMXBean> routers = CutoverDriver.routers();
    if (routers.isEmpty()) {
      builder.unknown().withDetail("routers", "none yet: no connection through jdbc:cutover: so far");
      return;
    }
    List<Map<String, Object>> details = new ArrayList<>();
    for (RouterMXBean r : routers) {
      Map<String, Object> d = new LinkedHashMap<>();
      d.put("service", r.getService());
      d.put("instance", r.getInstance());
      d.put("serving", r.getServing());
      d.put("flagTarget", r.getFlagTarget());
      d.put("flagHealth", r.getFlagHealth());
      d.put("flagDisagreement", r.getFlagDisagreement());
      d.put("controlSchema", r.isControlSchemaPresent());
      d.put("pendingGuarantees", r.getPendingGuarantees());
      d.put("switchInProgress", r.isHolding());
      d.put("switchesCompleted", r.getSwitchesCompleted());
      d.put("switchesAborted", r.getSwitchesAborted());
      d.put("switchesRefused", r.getSwitchesRefused());
      d.put("lastSwitch", r.getLastSwitch());
      details.add(d);
    }
    builder.up().withDetail("routers", details);
  }
}
