package io.sluice.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.config.PluginCatalog;
import io.sluice.config.PluginSettings;
import io.sluice.config.RoutePlugin;
import io.sluice.testing.FakeServices;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * The registry as the config loader's {@link PluginCatalog}: the config knows plugins only through
 * that interface, and what it holds for a route can be run only when it came from a registry.
 */
class PluginRegistryTest {
  private static final String CONFIG = """
      listeners: [ { name: public, port: 8080 } ]
      upstreams: [ { name: models, endpoints: [ { url: 'http://127.0.0.1:9000' } ] } ]
      routes:
        - name: chat
          match: { path: /v1/chat/completions }
          upstream: models
          plugins: { %s }
      """;

  /** A plugin whose settings are its {@code greeting}, a required string. */
  private static final class Greeter implements PluginFactory<String> {
    @Override
    public String name() {
      return "greeter";
    }

    @Override
    public Phase phase() {
      return Phase.ACCESS;
    }

    @Override
    public int priority() {
      return 1;
    }

    @Override
    public String parse(PluginSettings settings) {
      String greeting = settings.get("greeting").required().nonEmptyString();
      settings.finish();
      return greeting;
    }

    @Override
    public Plugin create(String settings, PluginServices services) {
      return new Plugin() {
        @Override
        public CompletionStage<Decision> onRequest(RequestContext request) {
          return Decision.proceed();
        }
      };
    }
  }

  private static GatewayConfig load(String plugins, PluginCatalog catalog) throws ConfigException {
    return new ConfigLoader(name -> null, catalog).parse(CONFIG.formatted(plugins), null);
  }

  @Test
  void aRoutesPluginsAreTheRegistrysConfiguredPluginsAndRun() throws Exception {
    Greeter greeter = new Greeter();
    GatewayConfig config = load("greeter: { greeting: hello }", PluginRegistry.of(List.of(greeter)));

    List<RoutePlugin> plugins = config.routes().get(0).plugins();
    assertThat(plugins).containsExactly(new ConfiguredPlugin(greeter, "hello"));
    assertThat(plugins.get(0).name()).isEqualTo("greeter");
    assertThat(plugins.get(0).settings()).isEqualTo("hello");
    assertThat(PluginChain.of(plugins, new FakeServices()).entries())
        .extracting(PluginChain.Entry::name).containsExactly("greeter");
  }

  @Test
  void theFactoryReportsItsOwnProblemsUnderTheirPath() {
    assertThatThrownBy(() -> load("greeter: { greting: hello }", PluginRegistry.of(List.of(new Greeter()))))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.errors()).containsExactlyInAnyOrder(
            "routes[0].plugins.greeter.greeting: required",
            "routes[0].plugins.greeter.greting: unknown key (expected one of: greeting)"));
  }

  @Test
  void aNameTheRegistryDoesNotKnowIsRefusedWithTheKnownNames() {
    assertThatThrownBy(() -> load("greter: {}", PluginRegistry.of(List.of(new Greeter()))))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.errors())
            .containsExactly("routes[0].plugins.greter: unknown plugin (expected one of: greeter)"));
    assertThatThrownBy(() -> PluginRegistry.of(List.of()).parse("greter", null))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aPluginFromAnotherCatalogCannotBeRun() throws Exception {
    RoutePlugin foreign = new RoutePlugin() {
      @Override
      public String name() {
        return "greeter";
      }

      @Override
      public Object settings() {
        return "hello";
      }
    };
    PluginCatalog other = new PluginCatalog() {
      @Override
      public Collection<String> names() {
        return List.of("greeter");
      }

      @Override
      public RoutePlugin parse(String name, PluginSettings settings) {
        return foreign;
      }
    };
    GatewayConfig config = load("greeter: {}", other);

    assertThat(config.routes().get(0).plugins()).containsExactly(foreign);
    assertThatThrownBy(() -> PluginChain.of(config.routes().get(0).plugins(), new FakeServices()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("plugin 'greeter' was not configured through a PluginRegistry");
  }

  @Test
  void withNoCatalogEveryPluginIsUnknown() {
    assertThatThrownBy(() -> load("greeter: {}", PluginCatalog.NONE))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.errors())
            .containsExactly("routes[0].plugins.greeter: unknown plugin (no plugins are installed)"));
  }
}
