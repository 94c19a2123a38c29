package io.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;

/**
 * {@link GatewayExtension}'s promises: the config reaches the fake through its placeholder, and
 * gateway and fake are stopped when the test fails, when a {@code @BeforeEach} fails, and in the
 * documented order around the class's own {@code @AfterEach}. The sample classes below run inside
 * these tests through JUnit's {@link EngineTestKit}, as JUnit itself would run them.
 */
class GatewayExtensionTest {
  private static final String CHAT_ROUTE = """
      upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
      routes: [ { name: chat, match: { path-prefix: /v1 }, upstream: models } ]
      """;

  // What the samples saw, for the tests to check once JUnit is done with them.
  private static volatile boolean runningSamples;
  private static volatile TestGateway seenGateway;
  private static volatile RecordingFake seenFake;
  private static volatile boolean readyInTest;
  private static volatile boolean gatewayReadyInAfterEach;
  private static volatile boolean fakeClosedInAfterEach;

  /** The samples run only inside these tests, not when an IDE runs every class it finds. */
  static boolean runningSamples() {
    return runningSamples;
  }

  private static Events run(Class<?> sample) {
    seenGateway = null;
    seenFake = null;
    runningSamples = true;
    try {
      return EngineTestKit.engine("junit-jupiter")
          // The leak check stays with this class (after all its tests), not with each sample.
          .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "false")
          .selectors(selectClass(sample))
          .execute()
          .testEvents();
    } finally {
      runningSamples = false;
    }
  }

  @Test
  void stopsTheGatewayAndTheFakeWhenTheTestFails() {
    Events events = run(FailingTest.class);
    events.assertStatistics(s -> s.started(1).failed(1));
    events.assertThatEvents().haveExactly(1, finishedWithFailure(message("the test's own failure")));
    assertThat(readyInTest).as("running during the test").isTrue();
    assertThat(seenGateway.sluice().ready()).as("gateway running after the test").isFalse();
    assertThat(seenFake.closed).as("fake closed after the test").isTrue();
  }

  @Test
  void stopsAGatewayStartedByAFailingBeforeEach() {
    Events events = run(FailingBeforeEach.class);
    events.assertStatistics(s -> s.started(1).failed(1));
    events.assertThatEvents().haveExactly(1, finishedWithFailure(message("set-up fails")));
    assertThat(seenGateway.sluice().ready()).isFalse();
    assertThat(seenFake.closed).isTrue();
  }

  @Test
  void stopsTheGatewayBeforeTheAfterEachMethodsAndTheFakeAfterThem() {
    run(AfterEachOrder.class).assertStatistics(s -> s.started(1).succeeded(1));
    assertThat(gatewayReadyInAfterEach).as("gateway still running in @AfterEach").isFalse();
    assertThat(fakeClosedInAfterEach).as("fake closed in @AfterEach").isFalse();
    assertThat(seenFake.closed).isTrue();
  }

  @Test
  void putsEachFakesUrlInItsPlaceholderAndLeavesTheRestToTheConfigLoader() throws Exception {
    GatewayExtension<FakeUpstream> extension = GatewayExtension.withUpstreams("a", "b");
    extension.beforeEach(null);
    try {
      String a = extension.upstream("a").url();
      String b = extension.upstream("b").url();
      assertThat(extension.resolve("x: ${upstream.a}, y: \"${upstream.b}/v1\", key: ${KEY}, literal: $${upstream.a}"))
          .isEqualTo("x: " + a + ", y: \"" + b + "/v1\", key: ${KEY}, literal: $${upstream.a}");
      assertThatThrownBy(() -> extension.resolve("url: ${upstream.c}"))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("${upstream.c}").hasMessageContaining("[a, b]");
      assertThatThrownBy(() -> extension.resolve("url: ${upstream}")).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(extension::upstream).isInstanceOf(IllegalStateException.class);
    } finally {
      extension.afterEach(null);
    }
  }

  /** A {@link FakeUpstream} that says whether it was closed. */
  static final class RecordingFake implements UpstreamFake {
    final FakeUpstream fake;
    volatile boolean closed;

    private RecordingFake(FakeUpstream fake) {
      this.fake = fake;
    }

    static RecordingFake start() throws InterruptedException {
      RecordingFake started = new RecordingFake(FakeUpstream.start());
      seenFake = started;
      return started;
    }

    @Override
    public String url() {
      return fake.url();
    }

    @Override
    public void close() {
      closed = true;
      fake.close();
    }
  }

  // ---- samples, run by the tests above ----------------------------------------------------------

  @EnabledIf("io.sluice.testing.GatewayExtensionTest#runningSamples")
  static class FailingTest {
    @RegisterExtension
    final GatewayExtension<RecordingFake> gateway = GatewayExtension.withUpstream(RecordingFake::start, CHAT_ROUTE);

    @Test
    void fails() throws Exception {
      seenGateway = gateway.gateway();
      readyInTest = gateway.sluice().ready();
      // The request reaches the fake: the placeholder named it.
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.post("/v1/chat/completions", "{}");
        gateway.upstream().fake.next().respond(200, "application/json", "{}");
        assertThat(client.readHead().status()).isEqualTo(200);
        client.readToEnd();
      }
      throw new AssertionError("the test's own failure");
    }
  }

  @EnabledIf("io.sluice.testing.GatewayExtensionTest#runningSamples")
  static class FailingBeforeEach {
    @RegisterExtension
    final GatewayExtension<RecordingFake> gateway = GatewayExtension.withUpstream(RecordingFake::start);

    @BeforeEach
    void setUp() throws Exception {
      seenGateway = gateway.start(CHAT_ROUTE);
      throw new IllegalStateException("set-up fails");
    }

    @Test
    void neverRuns() {}
  }

  @EnabledIf("io.sluice.testing.GatewayExtensionTest#runningSamples")
  static class AfterEachOrder {
    @RegisterExtension
    final GatewayExtension<RecordingFake> gateway = GatewayExtension.withUpstream(RecordingFake::start, CHAT_ROUTE);

    @Test
    void runs() {
      seenGateway = gateway.gateway();
    }

    @AfterEach
    void tearDown() {
      gatewayReadyInAfterEach = seenGateway.sluice().ready();
      fakeClosedInAfterEach = seenFake.closed;
    }
  }
}
