package io.sluice.testing;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.AfterTestExecutionCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.BeforeTestExecutionCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A running {@link TestGateway} and its fake upstreams for one test, started and stopped by JUnit
 * (a {@code @RegisterExtension} field, in the manner of Armeria's {@code ServerExtension}):
 *
 * <pre>
 * &#64;RegisterExtension
 * final GatewayExtension&lt;FakeUpstream&gt; gateway = GatewayExtension.withUpstream("""
 *     upstreams:
 *       - name: models
 *         endpoints: [ { url: "${upstream}" } ]
 *     routes:
 *       - { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models }
 *     """);
 *
 * &#64;Test
 * void relays() throws Exception {
 *   try (RawHttp client = RawHttp.connect(gateway.port())) {
 *     client.post("/v1/chat/completions", "{}");
 *     gateway.upstream().next().respond(200, "application/json", "{}");
 *     ...
 * }</pre>
 *
 * <p><b>Placeholders.</b> Before the YAML reaches the gateway, {@code ${upstream}} becomes the URL
 * of the fake upstream and {@code ${upstream.NAME}} that of the fake named NAME
 * ({@link #withUpstreams}). Every other {@code ${…}} is left to the config loader's environment
 * lookup ({@link #env}). A placeholder naming no fake fails the test at start.
 *
 * <p><b>Shapes</b>, after what the end-to-end tests do:
 * <ul>
 *   <li>{@link #withUpstream(String)}: one {@link FakeUpstream} and one gateway from a fixed YAML;
 *   <li>{@link #withUpstream()}: the fake only; each test (or a {@code @BeforeEach} that needs a
 *       temporary folder, certificates, …) starts the gateway it wants with {@link #start(String)}
 *       — the extension still stops it;
 *   <li>{@link #withUpstream(Starter)}: another kind of fake (a TLS {@link FakeUpstream},
 *       a {@link FakeRealtimeUpstream});
 *   <li>{@link #withUpstreams(String...)}: several named fakes; {@link #withoutUpstream()}: none.
 * </ul>
 * Anything started through the extension — gateways ({@link #start}, {@link #startFromFile}) and
 * fakes ({@link #startUpstream}) — is stopped by it, whatever the test's outcome.
 *
 * <p><b>When.</b> The fakes are started before the class's {@code @BeforeEach} methods and stopped
 * after its {@code @AfterEach} methods, so both can use them. A config given up front starts the
 * gateway right before the test method (after the {@code @BeforeEach} methods), and every
 * gateway is stopped right after the test method (before the {@code @AfterEach} methods): a
 * class's own set-up — a log appender, a Redis server, an identity provider — thus wraps the
 * gateway's whole life, as the hand-written {@code @BeforeEach}/{@code @AfterEach} pairs this
 * replaces did. Gateways stop in reverse order of start, then the fakes. Netty's leak check
 * ({@code LeakCheckExtension}, after all tests of a class) runs after everything was stopped.
 *
 * <p><b>Not for</b> lifecycles of another shape, which keep theirs: a server shared by a whole
 * class ({@code RequestForwardingTest}'s WireMock in {@code @BeforeAll}; its gateways do use the
 * extension), a gateway in its own JVM ({@link GatewayProcess}, the ITs), and classes whose tests
 * each build a different mix of fakes, refused ports, WireMock, {@link FakeDns} or hand-made
 * servers ({@code UpstreamFaultsTest}, {@code UpstreamHealthTest}, {@code UpstreamBalancerTest},
 * {@code UpstreamChaosTest}), or start nothing in some tests ({@code AccessLogTest},
 * {@code PrometheusLintTest}, {@code DeploymentFilesTest}), or need a resource first that
 * decides whether the test runs at all ({@code SlowHttpTest}, {@code EventSourceResumeTest}): there
 * try-with-resources already scopes each resource to its test.
 *
 * @param <U> the kind of fake upstream
 */
public final class GatewayExtension<U extends UpstreamFake>
    implements BeforeEachCallback, BeforeTestExecutionCallback, AfterTestExecutionCallback, AfterEachCallback {

  /** The name of the fake of the single-fake shapes: {@code ${upstream}}. */
  public static final String UPSTREAM = "upstream";

  /** {@code ${upstream}} or {@code ${upstream.NAME}}, not the config loader's literal {@code $${…}}. */
  private static final Pattern PLACEHOLDER = Pattern.compile("(?<!\\$)\\$\\{upstream(?:\\.([A-Za-z0-9_-]+))?}");

  /** Starts a fake upstream. */
  @FunctionalInterface
  public interface Starter<U> {
    U start() throws Exception;
  }

  private final Map<String, Starter<? extends U>> starters;
  private String config;
  private Map<String, String> env = Map.of();

  private final Map<String, U> fakes = new LinkedHashMap<>();
  private final List<TestGateway> gateways = new ArrayList<>();

  private GatewayExtension(Map<String, Starter<? extends U>> starters) {
    this.starters = starters;
  }

  /** One {@link FakeUpstream} ({@code ${upstream}}) and a gateway from this YAML, for each test. */
  public static GatewayExtension<FakeUpstream> withUpstream(String yaml) {
    return withUpstream().config(yaml);
  }

  /** One {@link FakeUpstream} for each test; the test starts its gateway ({@link #start(String)}). */
  public static GatewayExtension<FakeUpstream> withUpstream() {
    return withUpstream(FakeUpstream::start);
  }

  /** One fake of another kind ({@code ${upstream}}), e.g. {@code FakeRealtimeUpstream::start}. */
  public static <U extends UpstreamFake> GatewayExtension<U> withUpstream(Starter<? extends U> fake) {
    Map<String, Starter<? extends U>> starters = new LinkedHashMap<>();
    starters.put(UPSTREAM, Objects.requireNonNull(fake, "fake"));
    return new GatewayExtension<>(starters);
  }

  /** One fake of another kind ({@code ${upstream}}) and a gateway from this YAML, for each test. */
  public static <U extends UpstreamFake> GatewayExtension<U> withUpstream(Starter<? extends U> fake, String yaml) {
    GatewayExtension<U> extension = withUpstream(fake);
    return extension.config(yaml);
  }

  /** A {@link FakeUpstream} per name ({@code ${upstream.NAME}}), started in this order. */
  public static GatewayExtension<FakeUpstream> withUpstreams(String... names) {
    Map<String, Starter<? extends FakeUpstream>> starters = new LinkedHashMap<>();
    for (String name : names) {
      if (starters.put(name, FakeUpstream::start) != null) {
        throw new IllegalArgumentException("two fakes named " + name);
      }
    }
    return new GatewayExtension<>(starters);
  }

  /** No fake upstream: the test starts a gateway whose endpoints are elsewhere (or nowhere). */
  public static GatewayExtension<UpstreamFake> withoutUpstream() {
    return new GatewayExtension<>(new LinkedHashMap<>());
  }

  /** Starts a gateway from this YAML right before each test (placeholders as in the class doc). */
  public GatewayExtension<U> config(String yaml) {
    this.config = Objects.requireNonNull(yaml, "yaml");
    return this;
  }

  /** What {@code ${NAME}} in a config stands for, in place of the process environment. */
  public GatewayExtension<U> env(Map<String, String> env) {
    this.env = Map.copyOf(env);
    return this;
  }

  // ---- JUnit callbacks --------------------------------------------------------------------------

  @Override
  public void beforeEach(ExtensionContext context) throws Exception {
    for (Map.Entry<String, Starter<? extends U>> e : starters.entrySet()) {
      startUpstream(e.getKey(), e.getValue());
    }
  }

  @Override
  public void beforeTestExecution(ExtensionContext context) throws Exception {
    if (config != null) {
      start(config);
    }
  }

  @Override
  public void afterTestExecution(ExtensionContext context) throws Exception {
    rethrow(closeAll(gateways, null));
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    // Gateways again: afterTestExecution is skipped when a @BeforeEach method failed, and that
    // one may have started a gateway already.
    Throwable failure = closeAll(gateways, null);
    List<U> started = new ArrayList<>(fakes.values());
    fakes.clear();
    rethrow(closeAll(started, failure));
  }

  /**
   * Stops these in reverse order of start and forgets them, each one even when another failed;
   * returns the first failure (if any, else {@code failure}), the others suppressed in it.
   */
  private static Throwable closeAll(List<? extends AutoCloseable> list, Throwable failure) {
    for (int i = list.size() - 1; i >= 0; i--) {
      try {
        list.get(i).close();
      } catch (Throwable t) {
        if (failure == null) {
          failure = t;
        } else {
          failure.addSuppressed(t);
        }
      }
    }
    list.clear();
    return failure;
  }

  private static void rethrow(Throwable failure) throws Exception {
    if (failure instanceof Exception e) {
      throw e;
    }
    if (failure instanceof Error e) {
      throw e;
    }
  }

  // ---- from a test ------------------------------------------------------------------------------

  /** Starts a gateway from this YAML (placeholders resolved), stopped after the test. */
  public TestGateway start(String yaml) throws Exception {
    return start(yaml, env);
  }

  /** Starts a gateway from this YAML with this environment for {@code ${NAME}}; stopped after the test. */
  public TestGateway start(String yaml, Map<String, String> env) throws Exception {
    TestGateway gateway = TestGateway.start(resolve(yaml), env);
    gateways.add(gateway);
    return gateway;
  }

  /** Starts a gateway from this YAML whose plugins read this clock; stopped after the test. */
  public TestGateway start(String yaml, Clock clock) throws Exception {
    TestGateway gateway = TestGateway.start(resolve(yaml), env, clock);
    gateways.add(gateway);
    return gateway;
  }

  /** Starts a gateway that reads (and reloads) this config file, stopped after the test. */
  public TestGateway startFromFile(Path file) throws Exception {
    TestGateway gateway = TestGateway.startFromFile(file);
    gateways.add(gateway);
    return gateway;
  }

  /**
   * Starts a fake under this name for the rest of the test ({@code ${upstream.NAME}}, or
   * {@code ${upstream}} for {@link #UPSTREAM}); a fake of that name is stopped first and replaced.
   */
  public <F extends U> F startUpstream(String name, Starter<F> fake) throws Exception {
    U old = fakes.remove(name);
    if (old != null) {
      old.close();
    }
    F started = fake.start();
    fakes.put(name, started);
    return started;
  }

  /** This YAML with the fakes' URLs in place of their placeholders. */
  public String resolve(String yaml) {
    Matcher m = PLACEHOLDER.matcher(yaml);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String name = m.group(1) == null ? UPSTREAM : m.group(1);
      U fake = fakes.get(name);
      if (fake == null) {
        throw new IllegalArgumentException("the config names " + m.group() + " but the running fakes are "
            + fakes.keySet());
      }
      m.appendReplacement(out, Matcher.quoteReplacement(fake.url()));
    }
    m.appendTail(out);
    return out.toString();
  }

  // ---- what is running --------------------------------------------------------------------------

  /** The fake upstream, when there is one. */
  public U upstream() {
    if (fakes.size() != 1) {
      throw new IllegalStateException("upstream() needs exactly one running fake; there are " + fakes.keySet());
    }
    return fakes.values().iterator().next();
  }

  /** The fake of this name. */
  public U upstream(String name) {
    U fake = fakes.get(name);
    if (fake == null) {
      throw new IllegalStateException("no fake named " + name + "; there are " + fakes.keySet());
    }
    return fake;
  }

  /** The gateway (the first one, when the test started several). */
  public TestGateway gateway() {
    if (gateways.isEmpty()) {
      throw new IllegalStateException("no gateway is running: give a config or call start(yaml) first");
    }
    return gateways.get(0);
  }

  /** The gateway's public listener port. */
  public int port() {
    return gateway().port();
  }

  /** {@code http://127.0.0.1:PORT/path} on the gateway's public listener. */
  public String url(String path) {
    return gateway().url(path);
  }

  /** The gateway's admin listener port. */
  public int adminPort() {
    return gateway().adminPort();
  }

  /** The running gateway itself (listener ports by name, …). */
  public io.sluice.app.Sluice sluice() {
    return gateway().sluice();
  }

  /** GET on the gateway's admin listener. */
  public java.net.http.HttpResponse<String> admin(String path, String... headers) throws Exception {
    return gateway().admin(path, headers);
  }

  /** POST on the gateway's admin listener. */
  public java.net.http.HttpResponse<String> adminPost(String path) throws Exception {
    return gateway().adminPost(path);
  }
}
