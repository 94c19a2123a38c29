package io.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.sluice.config.EndpointConfig;
import io.sluice.config.HealthCheckConfig;
import io.sluice.config.UpstreamConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BalancerTest {

  static Endpoint endpoint(String host, int weight) {
    return new Endpoint("llm", new EndpointConfig("http://" + host + ":8000", "http", host, 8000, "", weight),
        HealthCheckConfig.PASSIVE_ONLY, System::nanoTime);
  }

  private static List<String> picks(Balancer balancer, List<Endpoint> endpoints, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(balancer.pick(endpoints).config().host());
    }
    return out;
  }

  @Test
  void smoothRoundRobinGivesTheNginxSequenceForWeights511() {
    List<Endpoint> endpoints = List.of(endpoint("a", 5), endpoint("b", 1), endpoint("c", 1));
    Balancer balancer = new Balancer.SmoothRoundRobin();
    List<String> seq = List.of("a", "a", "b", "a", "c", "a", "a");
    List<String> expected = new ArrayList<>(seq);
    expected.addAll(seq);
    expected.addAll(seq);
    assertThat(picks(balancer, endpoints, 21)).isEqualTo(expected);
  }

  @Test
  void smoothRoundRobinAlternatesEqualWeights() {
    List<Endpoint> endpoints = List.of(endpoint("a", 1), endpoint("b", 1), endpoint("c", 1));
    assertThat(picks(new Balancer.SmoothRoundRobin(), endpoints, 6)).containsExactly("a", "b", "c", "a", "b", "c");
  }

  @Test
  void leastRequestsPicksTheLeastLoadedPerUnitOfWeight() {
    Endpoint a = endpoint("a", 1);
    Endpoint b = endpoint("b", 4);
    Endpoint c = endpoint("c", 2);
    a.activeRequests().set(2); // 2.0 per weight
    b.activeRequests().set(6); // 1.5 per weight
    c.activeRequests().set(4); // 2.0 per weight
    Balancer balancer = new Balancer.LeastRequests();
    assertThat(picks(balancer, List.of(a, b, c), 50)).containsOnly("b");

    b.activeRequests().set(12); // 3.0 per weight
    a.activeRequests().set(0);
    assertThat(picks(balancer, List.of(a, b, c), 50)).containsOnly("a");
  }

  @Test
  void leastRequestsSpreadsTiesOverEveryTiedEndpoint() {
    Endpoint a = endpoint("a", 1);
    Endpoint b = endpoint("b", 2);
    Endpoint c = endpoint("c", 1);
    a.activeRequests().set(1);
    b.activeRequests().set(2);
    c.activeRequests().set(3);
    List<String> picks = picks(new Balancer.LeastRequests(), List.of(a, b, c), 2_000);
    assertThat(picks).containsOnly("a", "b");
    assertThat(picks.stream().filter("a"::equals).count()).isBetween(800L, 1200L);
  }

  @Test
  void weightedRandomIsRoughlyProportionalToWeight() {
    List<Endpoint> endpoints = List.of(endpoint("a", 5), endpoint("b", 3), endpoint("c", 2));
    Map<String, Integer> counts = new HashMap<>();
    int n = 10_000;
    for (String host : picks(new Balancer.WeightedRandom(), endpoints, n)) {
      counts.merge(host, 1, Integer::sum);
    }
    // Binomial standard deviation is under 0.005 here; 0.03 is six times that.
    assertThat(counts.get("a") / (double) n).isCloseTo(0.5, within(0.03));
    assertThat(counts.get("b") / (double) n).isCloseTo(0.3, within(0.03));
    assertThat(counts.get("c") / (double) n).isCloseTo(0.2, within(0.03));
  }

  @Test
  void everyBalancerPicksTheOnlyCandidate() {
    List<Endpoint> one = List.of(endpoint("only", 3));
    for (UpstreamConfig.Balancer kind : UpstreamConfig.Balancer.values()) {
      assertThat(picks(Balancer.of(kind), one, 5)).as(kind.name()).containsOnly("only");
    }
  }

  @Test
  void ofMapsEachConfiguredKind() {
    assertThat(Balancer.of(UpstreamConfig.Balancer.ROUND_ROBIN)).isInstanceOf(Balancer.SmoothRoundRobin.class);
    assertThat(Balancer.of(UpstreamConfig.Balancer.LEAST_REQUESTS)).isInstanceOf(Balancer.LeastRequests.class);
    assertThat(Balancer.of(UpstreamConfig.Balancer.RANDOM)).isInstanceOf(Balancer.WeightedRandom.class);
  }
}
