package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Resumable streams over real sockets (gateway-core/docs/streams.md, "Resume"): a client dropped at
 * any point gets exactly the events it missed, then the live rest — and the model is called once.
 */
class StreamResumeTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      consumers:
        - { name: alice, api-keys: [ "alice-key-0123456789" ] }
        - { name: bob, api-keys: [ "bob-key-0123456789" ] }
      upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
      routes:
        - name: events
          match: { path-prefix: /v1/events }
          upstream: models
          sse:
            heartbeat: 0s
            resume: { enabled: true, buffer-events: 4 }
            long-poll: { enabled: true, wait: 5s }
        - name: replay
          match: { path-prefix: /v1/replay }
          upstream: models
          sse: { heartbeat: 0s, resume: { enabled: true, buffer-events: 4096, buffer-bytes: 8MiB } }
        - name: private
          match: { path-prefix: /v1/private }
          upstream: models
          sse: { heartbeat: 0s, resume: { enabled: true } }
          plugins:
            key-auth: {}
      """);

  @Test
  void aClientDroppedMidStreamResumesWithExactlyTheMissedEvents() throws Exception {
    String id;
    FakeUpstream.Call call;
    try (RawHttp first = RawHttp.connect(gateway.port())) {
      first.post("/v1/events", "{}");
      call = gateway.upstream().next().startSse();
      RawHttp.Head head = first.readHead();
      id = head.header("x-sluice-stream-id");
      assertThat(id).matches("[0-9a-f]{32}");
      call.send("data: one\n\n").send("event: delta\nid: upstream-7\ndata: two\n\n");
      assertThat(first.readUntil("data: one\n\n")).isEqualTo("id: " + id + ".1\ndata: one\n\n");
      // The upstream's own id is replaced by the gateway's.
      assertThat(first.readUntil("data: two\n\n")).isEqualTo("id: " + id + ".2\nevent: delta\ndata: two\n\n");
    }
    call.send("data: three\n\n"); // while nobody listens
    try (RawHttp second = RawHttp.connect(gateway.port())) {
      second.post("/v1/events", "{}", "Last-Event-ID: " + id + ".2");
      RawHttp.Head head = second.readHead();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("content-type")).startsWith("text/event-stream");
      assertThat(second.readUntil("data: three\n\n")).isEqualTo("id: " + id + ".3\ndata: three\n\n");
      call.send("data: four\n\n").send("data: [DONE]\n\n").end();
      assertThat(second.readToEnd()).isEqualTo("id: " + id + ".4\ndata: four\n\nid: " + id + ".5\ndata: [DONE]\n\n");
      assertThat(second.endedCleanly()).isTrue();
    }
    assertThat(gateway.upstream().poll()).as("the model is called once").isNull();
    assertThat(metrics()).contains("sluice_stream_resumes_total{outcome=\"resumed\",route=\"events\"} 1.0");
  }

  @Test
  void aClientDroppedBeforeTheFirstEventResumesFromZero() throws Exception {
    String id;
    FakeUpstream.Call call;
    try (RawHttp first = RawHttp.connect(gateway.port())) {
      first.post("/v1/events", "{}");
      call = gateway.upstream().next().startSse();
      id = first.readHead().header("x-sluice-stream-id");
    }
    call.send("data: one\n\n");
    try (RawHttp second = RawHttp.connect(gateway.port())) {
      second.post("/v1/events", "{}", "Last-Event-ID: " + id + ".0");
      assertThat(second.readHead().status()).isEqualTo(200);
      assertThat(second.readUntil("data: one\n\n")).isEqualTo("id: " + id + ".1\ndata: one\n\n");
      call.send("data: [DONE]\n\n").end();
      assertThat(second.readToEnd()).isEqualTo("id: " + id + ".2\ndata: [DONE]\n\n");
    }
    assertThat(gateway.upstream().poll()).isNull();
  }

  @Test
  void aClientDroppedAfterTheLastEventGetsTheEndOnly() throws Exception {
    String id;
    try (RawHttp first = RawHttp.connect(gateway.port())) {
      first.post("/v1/events", "{}");
      gateway.upstream().next().startSse().send("data: one\n\n").send("data: [DONE]\n\n").end();
      id = first.readHead().header("x-sluice-stream-id");
      assertThat(first.readToEnd()).isEqualTo("id: " + id + ".1\ndata: one\n\nid: " + id + ".2\ndata: [DONE]\n\n");
    }
    try (RawHttp second = RawHttp.connect(gateway.port())) {
      second.post("/v1/events", "{}", "Last-Event-ID: " + id + ".1");
      assertThat(second.readHead().status()).isEqualTo(200);
      assertThat(second.readToEnd()).isEqualTo("id: " + id + ".2\ndata: [DONE]\n\n");
      assertThat(second.endedCleanly()).isTrue();
      second.post("/v1/events", "{}", "Last-Event-ID: " + id + ".2");
      assertThat(second.readHead().status()).as("kept alive, and nothing left").isEqualTo(200);
      assertThat(second.readToEnd()).isEmpty();
    }
    assertThat(gateway.upstream().poll()).isNull();
  }

  @Test
  void aClientDroppedMidEventGetsThatEventWhole() throws Exception {
    String id;
    FakeUpstream.Call call;
    try (RawHttp first = RawHttp.connect(gateway.port())) {
      first.post("/v1/events", "{}");
      call = gateway.upstream().next().startSse();
      id = first.readHead().header("x-sluice-stream-id");
      call.send("data: one\n\n").send("data: tw"); // half an event: the gateway holds it
      first.readUntil("data: one\n\n");
    }
    call.send("o\n\n");
    try (RawHttp second = RawHttp.connect(gateway.port())) {
      second.post("/v1/events", "{}", "Last-Event-ID: " + id + ".1");
      second.readHead();
      assertThat(second.readUntil("data: two\n\n")).isEqualTo("id: " + id + ".2\ndata: two\n\n");
      call.end();
      assertThat(second.readToEnd()).isEmpty();
    }
  }

  @Test
  void unknownAndForeignStreamsAreNotFound() throws Exception {
    String id;
    FakeUpstream.Call call;
    try (RawHttp alice = RawHttp.connect(gateway.port())) {
      alice.post("/v1/private", "{}", "Authorization: Bearer alice-key-0123456789");
      call = gateway.upstream().next().startSse();
      id = alice.readHead().header("x-sluice-stream-id");
      call.send("data: one\n\n");
      alice.readUntil("data: one\n\n");
    }
    try (RawHttp bob = RawHttp.connect(gateway.port())) {
      bob.post("/v1/private", "{}", "Authorization: Bearer bob-key-0123456789", "Last-Event-ID: " + id + ".1");
      RawHttp.Head head = bob.readHead();
      assertThat(head.status()).isEqualTo(404);
      assertThat(bob.readToEnd()).contains("\"code\":\"stream_not_found\"");
      bob.post("/v1/private", "{}", "Authorization: Bearer bob-key-0123456789",
          "Last-Event-ID: " + "0".repeat(32) + ".1");
      assertThat(bob.readHead().status()).isEqualTo(404);
      bob.readToEnd();
      // Anonymous: the plugins run first, so no answer about the stream at all.
      bob.post("/v1/private", "{}", "Last-Event-ID: " + id + ".1");
      assertThat(bob.readHead().status()).isEqualTo(401);
      bob.readToEnd();
    }
    try (RawHttp alice = RawHttp.connect(gateway.port())) {
      alice.post("/v1/private", "{}", "Authorization: Bearer alice-key-0123456789", "Last-Event-ID: " + id + ".1");
      assertThat(alice.readHead().status()).isEqualTo(200);
      call.send("data: two\n\n").end();
      assertThat(alice.readToEnd()).isEqualTo("id: " + id + ".2\ndata: two\n\n");
    }
    assertThat(gateway.upstream().poll()).isNull();
    assertThat(metrics()).contains("sluice_stream_resumes_total{outcome=\"not_found\",route=\"private\"} 2.0");
  }

  @Test
  void aResumeTooLateForTheBufferGets410() throws Exception {
    String id;
    FakeUpstream.Call call;
    try (RawHttp first = RawHttp.connect(gateway.port())) {
      first.post("/v1/events", "{}");
      call = gateway.upstream().next().startSse();
      id = first.readHead().header("x-sluice-stream-id");
      call.send("data: 1\n\n");
      first.readUntil("data: 1\n\n");
    }
    // A resumed reader sees events 2..7 arrive, so all are in the session before the late client
    // comes (a poll for an event not relayed yet would be told it does not exist).
    try (RawHttp witness = RawHttp.connect(gateway.port())) {
      witness.post("/v1/events", "{}", "Last-Event-ID: " + id + ".1");
      assertThat(witness.readHead().status()).isEqualTo(200);
      for (int i = 2; i <= 7; i++) {
        call.send("data: " + i + "\n\n"); // the buffer keeps the last 4: 4..7
        witness.readUntil("data: " + i + "\n\n"); // in step: a reader never falls behind the buffer
      }
    }
    try (RawHttp late = RawHttp.connect(gateway.port())) {
      late.post("/v1/events", "{}", "Last-Event-ID: " + id + ".1");
      assertThat(late.readHead().status()).isEqualTo(410);
      assertThat(late.readToEnd()).contains("\"code\":\"resume_gap\"");
      late.post("/v1/events", "{}", "Last-Event-ID: " + id + ".3");
      assertThat(late.readHead().status()).isEqualTo(200);
      assertThat(late.readUntil("data: 7\n\n")).isEqualTo(
          "id: " + id + ".4\ndata: 4\n\nid: " + id + ".5\ndata: 5\n\nid: " + id + ".6\ndata: 6\n\nid: " + id
              + ".7\ndata: 7\n\n");
      call.end();
      assertThat(late.readToEnd()).isEmpty();
    }
  }

  @Test
  void longPollingSeesTheSameEventsAsTheStream() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/events", "{}", "X-Sluice-Transport: long-poll");
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.headers.contains("X-Sluice-Transport")).isFalse();
      call.startSse();
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(202);
      JsonNode accepted = JSON.readTree(client.readToEnd());
      String id = accepted.get("stream_id").asText();
      assertThat(accepted.get("poll_url").asText()).isEqualTo("/sluice/streams/" + id + "/events?after=0");

      List<String> data = new ArrayList<>();
      String pollUrl = accepted.get("poll_url").asText();
      call.send("data: one\n\n").send("event: delta\ndata: two\n\n");
      JsonNode page = poll(client, pollUrl);
      while (page.get("events").size() < 2) {
        page.get("events").forEach(e -> data.add(e.get("data").asText()));
        page = poll(client, "/sluice/streams/" + id + "/events?after=" + page.get("next").asText());
      }
      page.get("events").forEach(e -> data.add(e.get("data").asText()));
      assertThat(page.get("events").get(0).get("id").asText()).isEqualTo(id + ".1");
      assertThat(page.get("events").get(1).get("event").asText()).isEqualTo("delta");
      assertThat(page.get("done").asBoolean()).isFalse();
      String next = page.get("next").asText();
      call.send("data: [DONE]\n\n").end();
      page = poll(client, "/sluice/streams/" + id + "/events?after=" + next);
      page.get("events").forEach(e -> data.add(e.get("data").asText()));
      assertThat(data).containsExactly("one", "two", "[DONE]");
      assertThat(page.get("done").asBoolean()).isTrue();
    }
    assertThat(gateway.upstream().poll()).isNull();
  }

  @Test
  void aPollWaitsForTheNextEvent() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/events", "{}", "X-Sluice-Transport: long-poll");
      FakeUpstream.Call call = gateway.upstream().next().startSse();
      client.readHead();
      String id = JSON.readTree(client.readToEnd()).get("stream_id").asText();
      client.send("GET /sluice/streams/" + id + "/events?after=0 HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(client.hasData()).isFalse();
      call.send("data: late\n\n");
      assertThat(client.readHead().status()).isEqualTo(200);
      JsonNode page = JSON.readTree(client.readToEnd());
      assertThat(page.get("events").get(0).get("data").asText()).isEqualTo("late");
    }
  }

  @Test
  void deleteStopsTheGeneration() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port()); RawHttp other = RawHttp.connect(gateway.port())) {
      client.post("/v1/events", "{}");
      FakeUpstream.Call call = gateway.upstream().next().startSse();
      String id = client.readHead().header("x-sluice-stream-id");
      other.send("DELETE /sluice/streams/" + id + " HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(other.readHead().status()).isEqualTo(204);
      assertThat(call.awaitClosed(Duration.ofSeconds(10))).as("the generation is stopped").isTrue();
      String rest = client.readToEnd();
      assertThat(rest).contains("event: error").contains("\"code\":\"stream_cancelled\"");
      assertThat(client.endedCleanly()).isTrue();
      other.send("DELETE /sluice/streams/" + id + " HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(other.readHead().status()).isEqualTo(404);
    }
  }

  /**
   * A replay far larger than the client's socket buffers (the client's connection turns unwritable
   * and writable again many times): every event arrives, the relay ends once (the gauge back at 0)
   * and the connection serves the next resume. The re-entrant writability event at the last flush
   * is driven deterministically in {@code SessionRelayTest}.
   */
  @Test
  void aLongReplayEndsOnceAndTheConnectionServesTheNextRequest() throws Exception {
    String id;
    StringBuilder events = new StringBuilder();
    for (int i = 1; i <= 1500; i++) {
      events.append("data: ").append(i).append(' ').append("x".repeat(1000)).append("\n\n");
    }
    try (RawHttp first = RawHttp.connect(gateway.port())) {
      first.post("/v1/replay", "{}");
      gateway.upstream().next().startSse().send(events.toString()).end();
      id = first.readHead().header("x-sluice-stream-id");
      first.readToEnd();
    }
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      for (int round = 0; round < 3; round++) {
        client.post("/v1/replay", "{}", "Last-Event-ID: " + id + ".0");
        assertThat(client.readHead().status()).isEqualTo(200);
        String body = client.readToEnd();
        assertThat(client.endedCleanly()).isTrue();
        assertThat(body).contains("id: " + id + ".1500\n");
      }
    }
    assertThat(metrics()).contains("sluice_active_streams{route=\"replay\",transport=\"sse\"} 0.0");
  }

  @Test
  void theSessionEndpointsAnswerWrongRequestsClearly() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("GET /sluice/streams/nothing-like-an-id/events HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(client.readHead().status()).isEqualTo(404);
      assertThat(client.readToEnd()).contains("stream_not_found");
      client.send("POST /sluice/streams/" + "a".repeat(32) + " HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(405);
      assertThat(head.header("allow")).isEqualTo("DELETE");
      client.readToEnd();
    }
  }

  private JsonNode poll(RawHttp client, String url) throws Exception {
    client.send("GET " + url + " HTTP/1.1\r\nHost: t\r\n\r\n");
    RawHttp.Head head = client.readHead();
    assertThat(head.status()).isEqualTo(200);
    return JSON.readTree(client.readToEnd());
  }

  private String metrics() throws Exception {
    return gateway.admin("/metrics").body();
  }
}
