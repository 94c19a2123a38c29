package io.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.sluice.config.EndpointConfig;
import io.sluice.config.HealthCheckConfig;
import io.sluice.config.Provider;
import io.sluice.config.UpstreamConfig;
import io.sluice.config.UpstreamTlsConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Upstream#choose}'s shortcuts (every endpoint a candidate, a single candidate) against the
 * general path (the available, untried endpoints in a list, given to the balancer): the same
 * endpoint and the same balancer state after every pick.
 */
class UpstreamTest {
  private static final long NOW = 1_000_000_000L; // a frozen clock: an ejected endpoint stays ejected

  private static Upstream upstream(UpstreamConfig.Balancer kind, int... weights) {
    List<EndpointConfig> endpoints = new ArrayList<>();
    for (int i = 0; i < weights.length; i++) {
      String host = "h" + i;
      endpoints.add(new EndpointConfig("http://" + host + ":8000", "http", host, 8000, "", weights[i]));
    }
    UpstreamConfig config = new UpstreamConfig("llm", endpoints, kind, Duration.ofSeconds(1), Duration.ofSeconds(1),
        Duration.ofSeconds(1), 10, 1, HealthCheckConfig.PASSIVE_ONLY, Duration.ofSeconds(1), Map.of(),
        UpstreamTlsConfig.DEFAULT, Provider.OPENAI_COMPATIBLE, null, null);
    return new Upstream(config, new Bootstrap(), () -> NOW);
  }

  /** What {@link Upstream#choose} did before its shortcuts: always a filtered list for the balancer. */
  private static Endpoint generalPath(Balancer balancer, List<Endpoint> endpoints, Set<Endpoint> tried) {
    List<Endpoint> candidates = new ArrayList<>();
    for (Endpoint e : endpoints) {
      if (e.available() && !tried.contains(e)) {
        candidates.add(e);
      }
    }
    return candidates.isEmpty() ? null : balancer.pick(candidates);
  }

  private static void setHealthy(Endpoint e, boolean healthy) {
    if (e.healthy() == healthy) {
      return;
    }
    if (healthy) {
      e.recordSuccess(false);
    } else {
      for (int i = 0; i < HealthCheckConfig.PASSIVE_ONLY.unhealthyAfter(); i++) {
        e.recordFailure("test");
      }
    }
  }

  /**
   * Two upstreams in step: the same health, tries and load, one choosing through {@link Upstream#choose},
   * the other through the general path; a round-robin's counters and every pick must agree (least
   * requests and random: with distinct loads and one candidate, where the pick is determined).
   */
  @ParameterizedTest
  @EnumSource(UpstreamConfig.Balancer.class)
  void shortcutsPickAndLeaveStateAsTheGeneralPath(UpstreamConfig.Balancer kind) {
    int[] weights = {5, 1, 1, 2};
    Upstream fast = upstream(kind, weights);
    Upstream slow = upstream(kind, weights);
    Balancer reference = Balancer.of(kind);
    Random random = new Random(42);
    int shortcutsTaken = 0;
    for (int step = 0; step < 2_000; step++) {
      Set<Endpoint> triedFast = new HashSet<>();
      Set<Endpoint> triedSlow = new HashSet<>();
      int available = 0;
      int untried = 0;
      for (int i = 0; i < weights.length; i++) {
        Endpoint f = fast.endpoints().get(i);
        Endpoint s = slow.endpoints().get(i);
        // Mostly everything available and nothing tried (the shortcut's case), sometimes not.
        boolean healthy = random.nextInt(4) != 0;
        setHealthy(f, healthy);
        setHealthy(s, healthy);
        if (random.nextInt(5) == 0) {
          triedFast.add(f);
          triedSlow.add(s);
        } else if (healthy) {
          untried++;
        }
        available += healthy ? 1 : 0;
        int load = i * 7 + random.nextInt(3) * 31; // distinct per endpoint: no ties for least requests
        f.activeRequests().set(load);
        s.activeRequests().set(load);
      }
      if (untried == weights.length || untried == 1) {
        shortcutsTaken++;
      }
      Endpoint picked = fast.choose(triedFast);
      Endpoint expected = generalPath(reference, slow.endpoints(), triedSlow);
      boolean determined = kind != UpstreamConfig.Balancer.RANDOM || untried <= 1;
      if (determined) {
        assertThat(picked == null ? null : picked.config().host())
            .as("step %d, %d available", step, available)
            .isEqualTo(expected == null ? null : expected.config().host());
      } else {
        assertThat(picked).isNotNull().isNotIn(triedFast);
        assertThat(picked.available()).isTrue();
      }
      for (int i = 0; i < weights.length; i++) {
        assertThat(fast.endpoints().get(i).swrrCurrent).as("step %d, endpoint %d", step, i)
            .isEqualTo(slow.endpoints().get(i).swrrCurrent);
      }
    }
    assertThat(shortcutsTaken).isGreaterThan(200); // the shortcuts were exercised, not only the general path
  }

  @Test
  void nothingAvailableIsNull() {
    Upstream upstream = upstream(UpstreamConfig.Balancer.ROUND_ROBIN, 1, 1);
    assertThat(upstream.choose(Set.of(upstream.endpoints().get(0), upstream.endpoints().get(1)))).isNull();
    upstream.endpoints().forEach(e -> setHealthy(e, false));
    assertThat(upstream.choose(Set.of())).isNull();
  }

  @Test
  void roundRobinOverEveryEndpointKeepsTheNginxSequence() {
    Upstream upstream = upstream(UpstreamConfig.Balancer.ROUND_ROBIN, 5, 1, 1);
    List<String> picks = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      picks.add(upstream.choose(Set.of()).config().host());
    }
    assertThat(picks).containsExactly("h0", "h0", "h1", "h0", "h2", "h0", "h0");
  }
}
