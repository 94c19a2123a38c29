package io.sluice.plugin;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeRequest;
import io.sluice.testing.FakeServices;
import io.sluice.testing.RecordingPlugin;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class PluginChainTest {
  private final List<String> calls = new ArrayList<>();

  /** A plugin that records its call and answers as told. */
  private PluginFactory<Object> plugin(String name, Phase phase, int priority,
      Function<FakeRequest, CompletionStage<Decision>> answer) {
    return RecordingPlugin.factory(name, phase, priority, false, calls, r -> answer.apply((FakeRequest) r));
  }

  private static PluginChain chain(List<PluginFactory<Object>> factories) {
    List<ConfiguredPlugin> configured = new ArrayList<>();
    factories.forEach(f -> configured.add(new ConfiguredPlugin(f, f.name())));
    return PluginChain.of(configured, new FakeServices());
  }

  private static Decision run(PluginChain chain, FakeRequest request) {
    return chain.runRequest(request, 0, chain.size(), Runnable::run, i -> { }).toCompletableFuture().join();
  }

  @Test
  void runsByPhaseThenPriorityWhateverTheConfigOrder() {
    PluginChain chain = chain(List.of(
        plugin("limit", Phase.TRAFFIC, 10, r -> Decision.proceed()),
        plugin("auth", Phase.AUTHN, 10, r -> {
          r.consumer("alice");
          return Decision.proceed();
        }),
        plugin("ip-low", Phase.ACCESS, 1, r -> Decision.proceed()),
        plugin("ip-high", Phase.ACCESS, 100, r -> Decision.proceed())));
    assertThat(run(chain, new FakeRequest())).isInstanceOf(Decision.Proceed.class);
    assertThat(calls).containsExactly("ip-high", "ip-low", "auth", "limit");
    assertThat(chain.entries()).extracting(PluginChain.Entry::name)
        .containsExactly("ip-high", "ip-low", "auth", "limit");
  }

  @Test
  void oneSuccessfulAuthenticationIsEnough() {
    PluginChain chain = chain(List.of(
        plugin("key-auth", Phase.AUTHN, 1000, r -> Decision.reject(401, "authentication_error", "missing_credentials", "no key")),
        plugin("jwt-auth", Phase.AUTHN, 900, r -> {
          r.consumer("bob");
          return Decision.proceed();
        }),
        plugin("limit", Phase.TRAFFIC, 1, r -> Decision.proceed())));
    FakeRequest request = new FakeRequest();
    assertThat(run(chain, request)).isInstanceOf(Decision.Proceed.class);
    assertThat(request.consumer()).isEqualTo("bob");
    assertThat(calls).containsExactly("key-auth", "jwt-auth", "limit");
  }

  @Test
  void whenEveryAuthenticationFailsTheRejectedCredentialIsReportedNotTheMissingOne() {
    PluginChain chain = chain(List.of(
        plugin("key-auth", Phase.AUTHN, 1000, r -> Decision.reject(401, "authentication_error", "missing_credentials", "no key")),
        plugin("jwt-auth", Phase.AUTHN, 900, r -> Decision.reject(401, "authentication_error", "invalid_token", "bad")),
        plugin("limit", Phase.TRAFFIC, 1, r -> Decision.proceed())));
    Decision d = run(chain, new FakeRequest());
    assertThat(d).isInstanceOfSatisfying(Decision.Reject.class, r -> assertThat(r.code()).isEqualTo("invalid_token"));
    assertThat(calls).doesNotContain("limit");
  }

  @Test
  void aRejectionStopsTheChain() {
    PluginChain chain = chain(List.of(
        plugin("ip", Phase.ACCESS, 1, r -> Decision.reject(403, "permission_error", "ip_denied", "no")),
        plugin("limit", Phase.TRAFFIC, 1, r -> Decision.proceed())));
    assertThat(run(chain, new FakeRequest())).isInstanceOf(Decision.Reject.class);
    assertThat(calls).containsExactly("ip");
  }

  @Test
  void waitsForAnAsynchronousDecisionAndGoesOnOnTheGivenExecutor() {
    CompletableFuture<Decision> later = new CompletableFuture<>();
    PluginChain chain = chain(List.of(
        plugin("jwks", Phase.AUTHN, 1, r -> later),
        plugin("limit", Phase.TRAFFIC, 1, r -> Decision.proceed())));
    List<Runnable> loop = new ArrayList<>();
    CompletionStage<Decision> result = chain.runRequest(new FakeRequest(), 0, chain.size(), loop::add, i -> { });
    assertThat(result.toCompletableFuture()).isNotDone();
    later.complete(Decision.PROCEED);
    assertThat(calls).containsExactly("jwks");
    assertThat(loop).hasSize(1); // the rest of the chain waits for the event loop
    loop.get(0).run();
    assertThat(result.toCompletableFuture().join()).isInstanceOf(Decision.Proceed.class);
    assertThat(calls).containsExactly("jwks", "limit");
  }

  @Test
  void aFailingPluginRefusesTheRequestInsteadOfLettingItThrough() {
    PluginChain chain = chain(List.of(plugin("broken", Phase.ACCESS, 1, r -> {
      throw new IllegalStateException("boom");
    })));
    assertThat(run(chain, new FakeRequest())).isInstanceOfSatisfying(Decision.Reject.class,
        r -> assertThat(r.status()).isEqualTo(500));
  }

  @Test
  void completionHooksRunInReverseForThePluginsThatWereReached() {
    PluginChain chain = chain(List.of(
        plugin("a", Phase.ACCESS, 2, r -> Decision.proceed()),
        plugin("b", Phase.ACCESS, 1, r -> Decision.reject(403, "permission_error", "ip_denied", "no")),
        plugin("c", Phase.TRAFFIC, 1, r -> Decision.proceed())));
    int[] reached = new int[1];
    FakeRequest request = new FakeRequest();
    chain.runRequest(request, 0, chain.size(), Runnable::run, i -> reached[0] = i);
    chain.runComplete(request, reached[0], new ExchangeSummary(403, "rejected", 1));
    assertThat(calls).containsExactly("a", "b", "done:b:403", "done:a:403");
  }

  @Test
  void rejectionHeadersAreKept() {
    PluginChain chain = chain(List.of(plugin("limit", Phase.TRAFFIC, 1,
        r -> Decision.reject(429, "rate_limit_error", "request_rate_limited", "slow down", Map.of("Retry-After", "3")))));
    assertThat(run(chain, new FakeRequest())).isInstanceOfSatisfying(Decision.Reject.class,
        r -> assertThat(r.headers()).containsEntry("Retry-After", "3"));
  }
}
