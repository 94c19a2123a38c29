package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.RawHttp;
import io.sluice.testing.TestGateway;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Resumable streams whatever the upstream's framing (gateway-core/docs/streams.md, resume): every event the gateway
 * relays in a session carries its {@code id: <stream-id>.<seq>}, wherever the upstream's reads
 * split it. Each {@link FakeUpstream.Call#send} is one HTTP chunk, and the gateway's decoder hands
 * each chunk to the framer on its own, so the splits below are exactly where the framer sees them.
 */
class StreamResumeFramingTest {
  private FakeUpstream upstream;
  private TestGateway gateway;

  @BeforeEach
  void start() throws Exception {
    upstream = FakeUpstream.start();
    gateway = TestGateway.start("""
        upstreams: [ { name: models, endpoints: [ { url: "%s" } ] } ]
        routes:
          - name: events
            match: { path-prefix: /v1/events }
            upstream: models
            sse: { heartbeat: 0s, resume: { enabled: true } }
          - name: small
            match: { path-prefix: /v1/small }
            upstream: models
            sse: { heartbeat: 0s, resume: { enabled: true, buffer-bytes: 1KiB } }
          - name: plain
            match: { path-prefix: /v1/plain }
            upstream: models
            sse: { heartbeat: 100ms }
        """.formatted(upstream.url()));
  }

  @AfterEach
  void stop() {
    gateway.close();
    upstream.close();
  }

  /**
   * CRLF line endings, the stream split into two reads at every byte: when a read ends between the
   * CR and the LF of an event's blank line, the framer emits that event at the CR and the LF starts
   * the next event's bytes. The client's bytes are the same whatever the split.
   */
  @Test
  void crlfEventsKeepTheirIdWhereverAReadSplitsThem() throws Exception {
    String wire = "data: one\r\n\r\nevent: delta\r\nid: up-7\r\ndata: two\r\n\r\n: thinking\r\n\r\ndata: three\r\n\r\n";
    for (int split = 1; split < wire.length(); split++) {
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.post("/v1/events", "{}");
        FakeUpstream.Call call = upstream.next().startSse();
        String id = client.readHead().header("x-sluice-stream-id");
        call.send(wire.substring(0, split)).send(wire.substring(split)).end();
        assertThat(client.readToEnd()).as("split after byte %d", split).isEqualTo(
            "id: " + id + ".1\ndata: one\r\n\r\n"
                + "id: " + id + ".2\nevent: delta\r\ndata: two\r\n\r\n"
                + ": thinking\r\n\r\n" // a comment: not numbered, relayed as it came
                + "id: " + id + ".3\ndata: three\r\n\r\n");
      }
    }
  }

  /**
   * The split that cut events' ids: "data: one\r\n\r" | "\ndata: two…". The event kept by the
   * session starts with the LF that completes the previous event's CRLF, so a replay of several
   * events has the same bytes as the live stream, and one that starts with it begins with an empty
   * line (which a client ignores).
   */
  @Test
  void aResumeAfterACrlfSplitReplaysTheEventWithItsId() throws Exception {
    String id;
    FakeUpstream.Call call;
    try (RawHttp first = RawHttp.connect(gateway.port())) {
      first.post("/v1/events", "{}");
      call = upstream.next().startSse();
      id = first.readHead().header("x-sluice-stream-id");
      call.send("data: one\r\n\r");
      assertThat(first.readUntil("data: one\r\n\r")).isEqualTo("id: " + id + ".1\ndata: one\r\n\r");
      call.send("\ndata: two\r\n\r\n");
      assertThat(first.readUntil("data: two\r\n\r\n")).isEqualTo("\nid: " + id + ".2\ndata: two\r\n\r\n");
    }
    call.end();
    try (RawHttp second = RawHttp.connect(gateway.port())) {
      second.post("/v1/events", "{}", "Last-Event-ID: " + id + ".0");
      assertThat(second.readHead().status()).isEqualTo(200);
      assertThat(second.readToEnd())
          .isEqualTo("id: " + id + ".1\ndata: one\r\n\r\nid: " + id + ".2\ndata: two\r\n\r\n");
      second.post("/v1/events", "{}", "Last-Event-ID: " + id + ".1");
      assertThat(second.readHead().status()).isEqualTo(200);
      assertThat(second.readToEnd()).isEqualTo("\nid: " + id + ".2\ndata: two\r\n\r\n");
    }
  }

  /**
   * A stream that starts with a UTF-8 byte order mark, split into two reads at every byte of it
   * and of the first event: the first event is numbered and stamped like the others, and the
   * client gets no BOM (the gateway writes the id line before the event's first bytes).
   */
  @Test
  void aStreamStartingWithAByteOrderMarkKeepsItsFirstEventsId() throws Exception {
    byte[] wire = bytes(BOM, "data: one\n\ndata: two\n\n");
    for (int split = 1; split < 16; split++) {
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.post("/v1/events", "{}");
        FakeUpstream.Call call = upstream.next().startSse();
        String id = client.readHead().header("x-sluice-stream-id");
        call.send(java.util.Arrays.copyOfRange(wire, 0, split))
            .send(java.util.Arrays.copyOfRange(wire, split, wire.length)).end();
        assertThat(client.readToEnd()).as("split after byte %d", split)
            .isEqualTo("id: " + id + ".1\ndata: one\n\nid: " + id + ".2\ndata: two\n\n");
      }
    }
  }

  /**
   * Without sessions too: a heartbeat goes out while the upstream is silent after its headers, so
   * a BOM the upstream sends next would no longer be at the start of the client's stream — where
   * a client skips it — but glued to the first field's name (U+FEFF then "data"), losing the event.
   */
  @Test
  void aByteOrderMarkAfterAHeartbeatDoesNotReachTheClient() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/plain", "{}");
      FakeUpstream.Call call = upstream.next().startSse();
      client.readHead();
      assertThat(client.readUntil("\n\n")).isEqualTo(": ping\n\n");
      call.send(bytes(BOM, "data: one\n\n"));
      assertThat(client.readUntil("data: one\n\n").replace(": ping\n\n", "")).isEqualTo("data: one\n\n");
      call.send("data: [DONE]\n\n").end();
      assertThat(client.readToEnd().replace(": ping\n\n", "")).isEqualTo("data: [DONE]\n\n");
    }
  }

  /**
   * An event larger than the session's whole buffer ({@code buffer-bytes}) cannot be kept, but it
   * is relayed numbered and stamped like any other: the client's Last-Event-ID stays ours. A resume
   * from before it is told it cannot be served; one from it gets the rest.
   */
  @Test
  void anEventLargerThanTheSessionsBufferIsStampedAndAResumeFromItWorks() throws Exception {
    String big = "y".repeat(4096);
    String id;
    FakeUpstream.Call call;
    try (RawHttp first = RawHttp.connect(gateway.port())) {
      first.post("/v1/small", "{}");
      call = upstream.next().startSse();
      id = first.readHead().header("x-sluice-stream-id");
      call.send("data: one\n\n").send("data: " + big + "\n\n").send("data: three\n\n");
      assertThat(first.readUntil("data: three\n\n").replace(big, "<4 KiB>")).isEqualTo(
          "id: " + id + ".1\ndata: one\n\nid: " + id + ".2\ndata: <4 KiB>\n\nid: " + id + ".3\ndata: three\n\n");
    }
    try (RawHttp second = RawHttp.connect(gateway.port())) {
      second.post("/v1/small", "{}", "Last-Event-ID: " + id + ".1");
      assertThat(second.readHead().status()).isEqualTo(410);
      assertThat(second.readToEnd()).contains("\"code\":\"resume_gap\"");
      second.post("/v1/small", "{}", "Last-Event-ID: " + id + ".2");
      assertThat(second.readHead().status()).isEqualTo(200);
      assertThat(second.readUntil("data: three\n\n")).isEqualTo("id: " + id + ".3\ndata: three\n\n");
      call.send("data: [DONE]\n\n").end();
      assertThat(second.readToEnd()).isEqualTo("id: " + id + ".4\ndata: [DONE]\n\n");
    }
    assertThat(upstream.poll()).isNull();
  }

  /**
   * An event larger than the framer holds (256 KiB) goes out in fragments as it arrives. It is
   * still numbered and stamped (its own id lines left out, even in a later fragment), so the
   * numbering the client sees has no hole and a resume from it works; it cannot be kept, so a
   * resume from before it gets 410. Two such events in a row are two events.
   */
  @Test
  void anEventTooLargeToHoldIsRelayedInFragmentsNumberedAndStamped() throws Exception {
    String big = "x".repeat(300 * 1024);
    String id;
    FakeUpstream.Call call;
    try (RawHttp first = RawHttp.connect(gateway.port())) {
      first.post("/v1/events", "{}");
      call = upstream.next().startSse();
      id = first.readHead().header("x-sluice-stream-id");
      call.send("data: one\n\n");
      assertThat(first.readUntil("data: one\n\n")).isEqualTo("id: " + id + ".1\ndata: one\n\n");
      // One chunk of more than 256 KiB without the event's end: the framer passes it on in part.
      // The end is sent only once a fragment has gone out: an event whose end arrives in the same
      // read as its 256th KiB is complete there, and is relayed whole.
      call.send("event: big\nid: up-1\ndata: " + big);
      String fragment = first.readUntil(FRAGMENT);
      call.send("\nid: up-2\ndata: tail\n\n");
      assertThat((fragment + first.readUntil("data: tail\n\n")).replace(big, "<300 KiB>"))
          .isEqualTo("id: " + id + ".2\nevent: big\ndata: <300 KiB>\ndata: tail\n\n");
      call.send("data: " + big);
      fragment = first.readUntil(FRAGMENT);
      call.send("\ndata: second\n\n");
      assertThat((fragment + first.readUntil("data: second\n\n")).replace(big, "<300 KiB>"))
          .isEqualTo("id: " + id + ".3\ndata: <300 KiB>\ndata: second\n\n");
      call.send("data: four\n\n");
      assertThat(first.readUntil("data: four\n\n")).isEqualTo("id: " + id + ".4\ndata: four\n\n");
    }
    try (RawHttp second = RawHttp.connect(gateway.port())) {
      for (int before : new int[] {1, 2}) {
        second.post("/v1/events", "{}", "Last-Event-ID: " + id + "." + before);
        assertThat(second.readHead().status()).as("resume from %d", before).isEqualTo(410);
        assertThat(second.readToEnd()).contains("\"code\":\"resume_gap\"");
      }
      second.post("/v1/events", "{}", "Last-Event-ID: " + id + ".3");
      assertThat(second.readHead().status()).isEqualTo(200);
      assertThat(second.readUntil("data: four\n\n")).isEqualTo("id: " + id + ".4\ndata: four\n\n");
      call.send("data: [DONE]\n\n").end();
      assertThat(second.readToEnd()).isEqualTo("id: " + id + ".5\ndata: [DONE]\n\n");
    }
    assertThat(upstream.poll()).isNull();
  }

  private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
  /** More of a big event than any read holds, less than a fragment: seen by the client once a fragment went out. */
  private static final String FRAGMENT = "x".repeat(200 * 1024);

  private static byte[] bytes(byte[] prefix, String text) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(prefix);
    out.writeBytes(text.getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }
}
