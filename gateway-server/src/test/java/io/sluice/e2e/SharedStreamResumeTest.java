package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.HeldSettlePlugin;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RedisServer;
import io.sluice.testing.TestGateway;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Resume on another gateway instance through a real {@code redis-server}
 * ({@code sse.resume.store: redis://…}): the instance that started the stream goes on filling the
 * session; the other one replays it and follows it live. The model is called once.
 */
class SharedStreamResumeTest {
  private RedisServer redis;
  private TestGateway first;
  private TestGateway second;

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateways = GatewayExtension.withUpstream();

  @BeforeEach
  void start() throws Exception {
    redis = RedisServer.start();
    String yaml = """
        consumers:
          - { name: alice, api-keys: [ "alice-key-0123456789" ] }
          - { name: bob, api-keys: [ "bob-key-0123456789" ] }
        shutdown: { drain-timeout: 300ms }
        upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
        routes:
          - name: chat
            match: { path-prefix: /v1/chat }
            upstream: models
            sse: { heartbeat: 0s, resume: { enabled: true, buffer-events: 8, store: "%s" } }
            plugins:
              key-auth: {}
          - name: settled
            match: { path-prefix: /v1/settled }
            upstream: models
            api: openai-chat
            sse: { heartbeat: 0s, resume: { enabled: true, store: "%s" } }
            plugins:
              key-auth: {}
              %s: {}
        """.formatted(redis.uri(), redis.uri(), HeldSettlePlugin.NAME);
    first = gateways.start(yaml);
    second = gateways.start(yaml);
  }

  /** After the gateways, which the extension stops right after the test method. */
  @AfterEach
  void stopRedis() throws Exception {
    if (redis != null) { // null when redis-server is missing and the test was skipped
      redis.close();
    }
  }

  @Test
  void aStreamStartedOnOneInstanceResumesOnAnother() throws Exception {
    String id;
    FakeUpstream.Call call;
    try (RawHttp client = RawHttp.connect(first.port())) {
      client.post("/v1/chat", "{}", "Authorization: Bearer alice-key-0123456789");
      call = gateways.upstream().next().startSse();
      id = client.readHead().header("x-sluice-stream-id");
      call.send("data: one\n\n").send("data: two\n\n");
      client.readUntil("data: two\n\n");
    }
    call.send("data: three\n\n");
    awaitInRedis("XRANGE sluice:stream:{" + id + "} 2-0 2-0");
    try (RawHttp bob = RawHttp.connect(second.port())) {
      bob.post("/v1/chat", "{}", "Authorization: Bearer bob-key-0123456789", "Last-Event-ID: " + id + ".1");
      assertThat(bob.readHead().status()).as("only its owner may resume it").isEqualTo(404);
      assertThat(bob.readToEnd()).contains("stream_not_found");
    }
    try (RawHttp client = RawHttp.connect(second.port())) {
      client.post("/v1/chat", "{}", "Authorization: Bearer alice-key-0123456789", "Last-Event-ID: " + id + ".1");
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("x-sluice-stream-id")).isEqualTo(id);
      assertThat(client.readUntil("data: three\n\n"))
          .isEqualTo("id: " + id + ".2\ndata: two\n\nid: " + id + ".3\ndata: three\n\n");
      call.send("data: four\n\n").send("data: [DONE]\n\n").end(); // live, through the first instance
      assertThat(client.readToEnd()).isEqualTo("id: " + id + ".4\ndata: four\n\nid: " + id + ".5\ndata: [DONE]\n\n");
      assertThat(client.endedCleanly()).isTrue();
    }
    assertThat(gateways.upstream().poll()).as("the model is called once").isNull();
  }

  @Test
  void aDrainingInstanceSendsItsClientsElsewhereAndFinishesTheGenerationMeanwhile() throws Exception {
    String id;
    FakeUpstream.Call call;
    try (RawHttp client = RawHttp.connect(first.port())) {
      client.post("/v1/chat", "{}", "Authorization: Bearer alice-key-0123456789");
      call = gateways.upstream().next().startSse();
      id = client.readHead().header("x-sluice-stream-id");
      call.send("data: one\n\n");
      client.readUntil("data: one\n\n");
      first.sluice().drain(); // the drain timeout passes with the stream still running
      assertThat(client.readToEnd()).as("drained: retry, then a clean end").isEqualTo("retry: 1000\n\n");
      assertThat(client.endedCleanly()).isTrue();
    }
    call.send("data: two\n\n"); // the first instance keeps generating into the shared session
    try (RawHttp client = RawHttp.connect(second.port())) {
      client.post("/v1/chat", "{}", "Authorization: Bearer alice-key-0123456789", "Last-Event-ID: " + id + ".1");
      assertThat(client.readHead().status()).isEqualTo(200);
      assertThat(client.readUntil("data: two\n\n")).isEqualTo("id: " + id + ".2\ndata: two\n\n");
      call.send("data: [DONE]\n\n").end();
      assertThat(client.readToEnd()).isEqualTo("id: " + id + ".3\ndata: [DONE]\n\n");
    }
    assertThat(gateways.upstream().poll()).isNull();
  }

  /**
   * A drain while the route's plugin settles the stream's usage: the client is sent elsewhere at
   * once, and the held end enters the shared session once the usage is settled — a resume on
   * the other instance gets it then (gateway-core/docs/usage.md).
   */
  @Test
  void aDrainWhileTheUsageIsBeingSettledLeavesTheEndToTheSessionOnceSettled() throws Exception {
    String id;
    FakeUpstream.Call call;
    HeldSettlePlugin.Settle settle;
    try (RawHttp client = RawHttp.connect(first.port())) {
      client.post("/v1/settled", "{\"model\":\"m\",\"stream\":true,\"messages\":[]}",
          "Authorization: Bearer alice-key-0123456789");
      call = gateways.upstream().next().startSse();
      id = client.readHead().header("x-sluice-stream-id");
      call.send("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n");
      client.readUntil("\n\n");
      call.send("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n")
          .send("data: [DONE]\n\n").end();
      settle = HeldSettlePlugin.nextSettle(Duration.ofSeconds(10));
      first.sluice().drain(); // the drain timeout passes while the usage is being settled
      assertThat(client.readToEnd()).as("drained: retry, then a clean end").isEqualTo("retry: 1000\n\n");
    }
    try (RawHttp client = RawHttp.connect(second.port())) {
      client.post("/v1/settled", "{}", "Authorization: Bearer alice-key-0123456789", "Last-Event-ID: " + id + ".1");
      assertThat(client.readHead().status()).isEqualTo(200);
      settle.complete(); // the first instance writes the held end into the shared session now
      assertThat(client.readToEnd()).isEqualTo("id: " + id + ".2\ndata: [DONE]\n\n");
      assertThat(client.endedCleanly()).isTrue();
    }
    assertThat(gateways.upstream().poll()).isNull();
  }

  /** Waits (up to 10 s) until the first instance's asynchronous writes show the entry. */
  private void awaitInRedis(String xrange) throws Exception {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!"*1".equals(redis.command(xrange))) {
      assertThat(System.nanoTime()).as("the entry reaches Redis").isLessThan(deadline);
      Thread.sleep(10);
    }
  }

  @Test
  void unknownAndTrimmedPositionsAreRefusedAsOnOneInstance() throws Exception {
    String id;
    try (RawHttp client = RawHttp.connect(first.port())) {
      client.post("/v1/chat", "{}", "Authorization: Bearer alice-key-0123456789");
      FakeUpstream.Call call = gateways.upstream().next().startSse();
      id = client.readHead().header("x-sluice-stream-id");
      for (int i = 1; i <= 12; i++) {
        call.send("data: " + i + "\n\n");
      }
      call.end();
      client.readToEnd();
    }
    awaitInRedis("XRANGE sluice:stream:{" + id + "} 12-1 12-1"); // the end marker
    try (RawHttp client = RawHttp.connect(second.port())) {
      client.post("/v1/chat", "{}", "Authorization: Bearer alice-key-0123456789", "Last-Event-ID: " + id + ".1");
      assertThat(client.readHead().status()).isEqualTo(410);
      assertThat(client.readToEnd()).contains("resume_gap");
      client.post("/v1/chat", "{}", "Authorization: Bearer alice-key-0123456789", "Last-Event-ID: " + id + ".99");
      assertThat(client.readHead().status()).isEqualTo(404);
      client.readToEnd();
      client.post("/v1/chat", "{}", "Authorization: Bearer alice-key-0123456789", "Last-Event-ID: " + id + ".10");
      assertThat(client.readHead().status()).isEqualTo(200);
      assertThat(client.readToEnd()).isEqualTo("id: " + id + ".11\ndata: 11\n\nid: " + id + ".12\ndata: 12\n\n");
    }
  }
}
