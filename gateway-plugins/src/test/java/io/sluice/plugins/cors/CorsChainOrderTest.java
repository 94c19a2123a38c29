package io.sluice.plugins.cors;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.PluginSettings;
import io.sluice.plugin.ConfiguredPlugin;
import io.sluice.plugin.Decision;
import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginChain;
import io.sluice.plugin.PluginFactory;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import io.sluice.plugins.iprestriction.IpRestrictionFactory;
import io.sluice.plugins.iprestriction.IpRestrictionSettings;
import io.sluice.testing.FakeRequest;
import io.sluice.testing.FakeServices;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * Where cors sits in a route's chain: first in ACCESS, so a preflight (which never carries
 * credentials) is answered before ip-restriction and before any AUTHN plugin could refuse it.
 */
class CorsChainOrderTest {
  private final FakeServices services = new FakeServices();
  private final List<String> authnCalls = new ArrayList<>();

  /** An AUTHN plugin that refuses everything with 401, like key-auth without a key. */
  private final class RefusingAuth implements PluginFactory<Object> {
    @Override
    public String name() {
      return "refusing-auth";
    }

    @Override
    public Phase phase() {
      return Phase.AUTHN;
    }

    @Override
    public int priority() {
      return 5000;
    }

    @Override
    public Object parse(PluginSettings settings) {
      return new Object();
    }

    @Override
    public Plugin create(Object settings, PluginServices services) {
      return new Plugin() {
        @Override
        public CompletionStage<Decision> onRequest(RequestContext request) {
          authnCalls.add(request.method());
          return Decision.reject(401, "authentication_error", "missing_credentials", "no key");
        }
      };
    }
  }

  private PluginChain chain() {
    CorsSettings cors = new CorsSettings(List.of("https://app.example"), CorsFactory.DEFAULT_METHODS,
        CorsFactory.DEFAULT_ALLOW_HEADERS, CorsFactory.DEFAULT_EXPOSE_HEADERS, false, Duration.ofMinutes(10));
    return PluginChain.of(List.of(
        new ConfiguredPlugin(new RefusingAuth(), new Object()),
        new ConfiguredPlugin(new IpRestrictionFactory(), new IpRestrictionSettings(List.of(), List.of("127.0.0.1"))),
        new ConfiguredPlugin(new CorsFactory(), cors)), services);
  }

  private static Decision run(PluginChain chain, FakeRequest request) {
    return chain.runRequest(request, 0, chain.size(), Runnable::run, i -> { }).toCompletableFuture().join();
  }

  @Test
  void ordersCorsFirstWhateverTheYamlOrder() {
    assertThat(chain().entries()).extracting(PluginChain.Entry::name)
        .containsExactly("cors", "ip-restriction", "refusing-auth");
  }

  @Test
  void answersAPreflightBeforeIpRestrictionAndAuth() {
    FakeRequest preflight = new FakeRequest().method("OPTIONS").header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "POST");
    assertThat(run(chain(), preflight)).isInstanceOfSatisfying(Decision.Respond.class,
        r -> assertThat(r.status()).isEqualTo(204));
    assertThat(authnCalls).isEmpty();
    assertThat(services.authFailures).isEmpty();
  }

  @Test
  void theRealRequestStillGoesThroughEveryPlugin() {
    FakeRequest post = new FakeRequest().header("Origin", "https://app.example");
    assertThat(run(chain(), post)).isInstanceOfSatisfying(Decision.Reject.class,
        r -> assertThat(r.code()).isEqualTo("ip_denied"));
    assertThat(post.responseHeaders).containsEntry("vary", "Origin");
  }
}
