package io.sluice.upstream;

import io.sluice.config.ModelConfig;
import io.sluice.config.ModelConfig.Target;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * The configured model aliases ({@code models[]}) and the order in which one request tries an
 * alias's targets.
 *
 * <p>Order: priorities ascending; within one priority a weighted random order (each pick draws
 * among the targets not yet picked, in proportion to their weights), so a 3:1 split holds for the
 * first target of every request and the second choice is still the other one. Targets cooling
 * down after a failure go after all the others (they are tried only when nothing else is left),
 * keeping their relative order.
 *
 * <p>Cooldowns are kept by target ({@code upstream/model}) across config reloads and shared by
 * every event loop; the clock is injected for tests.
 */
public final class ModelAliases {
  private final Map<String, List<Target>> byName = new LinkedHashMap<>();
  private final Map<String, Long> coolingUntil;
  private final LongSupplier nanoClock;
  private final RandomGenerator random;
  private final long createdAt = System.currentTimeMillis() / 1000;

  public ModelAliases(List<ModelConfig> models, LongSupplier nanoClock, RandomGenerator random) {
    this(models, nanoClock, random, new ConcurrentHashMap<>());
  }

  private ModelAliases(List<ModelConfig> models, LongSupplier nanoClock, RandomGenerator random,
      Map<String, Long> coolingUntil) {
    models.forEach(m -> byName.put(m.name(), m.targets()));
    this.nanoClock = nanoClock;
    this.random = random;
    this.coolingUntil = coolingUntil;
  }

  /** The aliases of a reloaded config, keeping the cooldowns of targets that still exist. */
  public ModelAliases reload(List<ModelConfig> models) {
    return new ModelAliases(models, nanoClock, random, coolingUntil);
  }

  /** When these aliases were configured, in epoch seconds ({@code GET /v1/models}' {@code created}). */
  public long createdAt() {
    return createdAt;
  }

  /** Every alias name, in the order configured. */
  public List<String> names() {
    return List.copyOf(byName.keySet());
  }

  public boolean contains(String alias) {
    return alias != null && byName.containsKey(alias);
  }

  /** The targets one request tries, in order, at most {@code maxAttempts}. */
  public List<Target> plan(String alias, int maxAttempts) {
    List<Target> targets = byName.get(alias);
    if (targets == null) {
      return List.of();
    }
    Map<Integer, List<Target>> byPriority = new HashMap<>();
    targets.forEach(t -> byPriority.computeIfAbsent(t.priority(), p -> new ArrayList<>()).add(t));
    List<Target> ordered = new ArrayList<>(targets.size());
    byPriority.keySet().stream().sorted().forEach(p -> ordered.addAll(weightedOrder(byPriority.get(p))));
    long now = nanoClock.getAsLong();
    // stable: ready targets keep their order, cooling ones follow in theirs
    ordered.sort(Comparator.comparing((Target t) -> coolingDown(t, now)));
    return List.copyOf(ordered.subList(0, Math.min(maxAttempts, ordered.size())));
  }

  private List<Target> weightedOrder(List<Target> group) {
    List<Target> left = new ArrayList<>(group);
    List<Target> out = new ArrayList<>(group.size());
    while (left.size() > 1) {
      int total = left.stream().mapToInt(Target::weight).sum();
      int pick = random.nextInt(total);
      for (int i = 0; i < left.size(); i++) {
        pick -= left.get(i).weight();
        if (pick < 0) {
          out.add(left.remove(i));
          break;
        }
      }
    }
    out.addAll(left);
    return out;
  }

  /** The target failed: it goes last in every plan for {@code cooldownNanos}. */
  public void failed(Target target, long cooldownNanos) {
    if (cooldownNanos > 0) {
      coolingUntil.put(target.key(), nanoClock.getAsLong() + cooldownNanos);
    }
  }

  /** Whether the target is cooling down after a failure. */
  public boolean coolingDown(Target target) {
    return coolingDown(target, nanoClock.getAsLong());
  }

  private boolean coolingDown(Target target, long now) {
    Long until = coolingUntil.get(target.key());
    if (until == null) {
      return false;
    }
    if (until - now <= 0) {
      coolingUntil.remove(target.key(), until);
      return false;
    }
    return true;
  }
}
