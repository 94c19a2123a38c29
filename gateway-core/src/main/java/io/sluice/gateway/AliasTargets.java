package io.sluice.gateway;

import io.sluice.config.FailoverConfig;
import io.sluice.config.ModelConfig;
import io.sluice.exchange.Exchange;
import io.sluice.relay.Target;
import io.sluice.relay.Targets;
import io.sluice.route.Route;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/**
 * The targets of a request naming a model alias, in the order its plan gives
 * ({@link io.sluice.upstream.ModelAliases#plan}); each target's request is made when its turn
 * comes. A failed attempt is counted in {@code sluice_failovers_total} and its target cools down.
 */
final class AliasTargets implements Targets {
  private final GatewayContext gateway;
  private final Exchange exchange;
  private final FailoverConfig failover;
  private final List<ModelConfig.Target> plan;
  private final Function<ModelConfig.Target, Target> requestFor;
  private int next;

  AliasTargets(GatewayContext gateway, Route route, Exchange exchange, List<ModelConfig.Target> plan,
      Function<ModelConfig.Target, Target> requestFor) {
    this.gateway = gateway;
    this.exchange = exchange;
    this.failover = route.config().failover();
    this.plan = plan;
    this.requestFor = requestFor;
  }

  @Override
  public Target next() {
    return next < plan.size() ? requestFor.apply(plan.get(next++)) : null;
  }

  @Override
  public boolean hasNext() {
    return next < plan.size();
  }

  @Override
  public void failed(Target target, String reason) {
    gateway.aliases().failed(plan.get(next - 1), failover.cooldown().toNanos());
    gateway.metrics().failover(exchange.routeName(), target.upstream().name(), reason);
  }

  @Override
  public Duration firstEventTimeout() {
    return failover.firstEventTimeout();
  }
}
