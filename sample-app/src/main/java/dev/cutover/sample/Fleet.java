package dev.cutover.sample;

import java.util.ArrayList;
import java.util.List;

/** The simulated instances of the booking service, started and stopped together. */
final class Fleet implements AutoCloseable {
  private final RehearsalPlan plan;
  private final List<AppInstance> instances;

  private Fleet(RehearsalPlan plan, List<AppInstance> instances) {
    this.plan = plan;
    this.instances = instances;
  }

  /** Opens every instance's pool through its own {@code jdbc:cutover:} URL, following {@code flag}; no load yet. */
  static Fleet open(RehearsalPlan plan, RehearsalDatabases databases, FlagControl flag) {
    List<AppInstance> instances = new ArrayList<>();
    try {
      for (int i = 1; i <= plan.instances(); i++) {
        String id = RehearsalDatabases.SERVICE + "-" + i;
        instances.add(new AppInstance(id, databases.dataSource(id, flag.driverSettings()), plan.poolSize()));
      }
    } catch (RuntimeException e) {
      instances.forEach(AppInstance::close);
      throw e;
    }
    return new Fleet(plan, instances);
  }

  /** Starts every instance's workers at once ({@code --pool-size} each), sharing {@code --rate} between them. */
  void start(SeedData.Catalog catalog, HotSlots hotSlots, Ledger ledger, Timeline timeline) {
    for (int i = 0; i < instances.size(); i++) {
      instances.get(i).start(plan.poolSize(), (double) plan.rate() / instances.size(), catalog, hotSlots, ledger,
          timeline, plan.seed() + i + 1);
    }
  }

  int size() {
    return instances.size();
  }

  /** Stops every instance's workers first, so that all stop at about the same time, then closes them. */
  @Override
  public void close() {
    instances.forEach(AppInstance::stop);
    instances.forEach(AppInstance::close);
  }
}
