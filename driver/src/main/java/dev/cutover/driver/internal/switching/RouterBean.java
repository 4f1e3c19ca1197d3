package dev.cutover.driver.internal.switching;

import dev.cutover.driver.RouterMXBean;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.NoFlag;
import java.lang.management.ManagementFactory;
import java.util.List;
import javax.management.ObjectName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A router as operators see it: the MXBean registered as {@code
 * dev.cutover:type=Router,service=…,instance=…,id=…} ({@link RouterNames}) and handed to router
 * listeners. Every attribute is read from the router when asked; nothing here is state of its own.
 */
final class RouterBean implements RouterMXBean {
  private static final Logger LOG = LoggerFactory.getLogger(RouterBean.class);

  private final Router router;
  private final SwitchRunner switches;
  private final ObjectName name;

  RouterBean(Router router, SwitchRunner switches, long id) {
    this.router = router;
    this.switches = switches;
    this.name = RouterNames.of(router.service(), router.instance(), id);
  }

  void register() {
    try {
      ManagementFactory.getPlatformMBeanServer().registerMBean(this, name);
    } catch (Exception e) {
      LOG.warn("cutover {}: cannot register MBean {}", router.service(), name, e);
    }
  }

  void unregister() {
    try {
      ManagementFactory.getPlatformMBeanServer().unregisterMBean(name);
    } catch (Exception e) {
      LOG.debug("cutover: MBean {} already gone", name);
    }
  }

  @Override
  public String getService() {
    return router.service();
  }

  @Override
  public String getInstance() {
    return router.instance();
  }

  @Override
  public String getServing() {
    return router.route().serving().value();
  }

  @Override
  public String getFlagTarget() {
    return router.flag() instanceof NoFlag ? "none" : router.flag().target().value();
  }

  @Override
  public String getFlagDisagreement() {
    return router.flagDisagreement();
  }

  @Override
  public String getFlagHealth() {
    return router.flag().health().name();
  }

  @Override
  public long getFlagRejectedValues() {
    return router.flag().rejectedValues();
  }

  @Override
  public boolean isHolding() {
    return router.route().gate() != null;
  }

  @Override
  public String getPhase() {
    return router.phase();
  }

  @Override
  public boolean isControlSchemaPresent() {
    return router.control();
  }

  @Override
  public List<String> getPendingGuarantees() {
    return router.pending();
  }

  @Override
  public int getLogicalConnections() {
    return router.sessions().size();
  }

  @Override
  public long getSwitchesCompleted() {
    return switches.completed();
  }

  @Override
  public long getSwitchesAborted() {
    return switches.aborted();
  }

  @Override
  public long getSwitchesRefused() {
    return switches.refused();
  }

  @Override
  public long getTransactionsRolledBack() {
    return switches.rolledBack();
  }

  @Override
  public long getGateWaits() {
    return switches.gateWaits();
  }

  @Override
  public String getLastSwitch() {
    SwitchEvent e = switches.last();
    return e == null ? "" : e.summary();
  }

  @Override
  public String toString() {
    return router.toString();
  }
}
