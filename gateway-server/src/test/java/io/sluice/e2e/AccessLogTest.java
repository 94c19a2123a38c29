package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.observe.AccessLog;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.RawHttp;
import io.sluice.testing.TestGateway;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** One access-log line per exchange, with the documented fields (README, "Operations") and no secrets. */
class AccessLogTest {
  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
  private final Logger access = (Logger) LoggerFactory.getLogger("sluice.access");

  @BeforeEach
  void capture() {
    lines.start();
    access.addAppender(lines);
  }

  @AfterEach
  void release() {
    access.detachAppender(lines);
  }

  @Test
  void writesOneLinePerExchangeWithoutQueryOrKeys() throws Exception {
    try (FakeUpstream upstream = FakeUpstream.start();
        TestGateway gateway = TestGateway.start("""
            upstreams: [ { name: models, endpoints: [ { url: "%s" } ] } ]
            routes: [ { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models } ]
            """.formatted(upstream.url()));
        RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions?api_key=sk-secret-123", "{\"stream\":true}",
          "Authorization: Bearer sk-secret-456", "X-Request-Id: log-me-1");
      upstream.next().startSse().send("data: a\n\n").send("data: [DONE]\n\n").end();
      client.readHead();
      client.readToEnd();
      awaitLines(1);
      String line = lines.list.get(0).getFormattedMessage();
      assertThat(line).contains("request_id=log-me-1", "route=chat", "client_ip=127.0.0.1", "method=POST",
          "path=/v1/chat/completions ", "status=200", "upstream=models", "outcome=ok", "consumer=-")
          .containsPattern("ttft_ms=\\d+").containsPattern("duration_ms=\\d+")
          .contains("bytes_out=" + "data: a\n\ndata: [DONE]\n\n".length())
          .doesNotContain("sk-secret", "api_key");
    }
  }

  @Test
  void countsRefusedRequestsToo() throws Exception {
    try (FakeUpstream upstream = FakeUpstream.start();
        TestGateway gateway = TestGateway.start("""
            upstreams: [ { name: models, endpoints: [ { url: "%s" } ] } ]
            routes: [ { name: chat, match: { path: /v1/chat/completions }, upstream: models } ]
            """.formatted(upstream.url()));
        RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("GET /nowhere HTTP/1.1\r\nHost: gw\r\n\r\n");
      assertThat(client.readHead().status()).isEqualTo(404);
      awaitLines(1);
      assertThat(lines.list.get(0).getFormattedMessage())
          .contains("route=none", "status=404", "outcome=rejected", "upstream=-");
    }
  }

  @Test
  void jsonFormatIsOneFlatObjectWithEveryField() throws Exception {
    Exchange e = new Exchange("rid-1", "10.0.0.7", "POST", "/v1/chat/completions", 1_000_000_000L);
    e.routeName("chat");
    e.upstream("models", "http://127.0.0.1:9000");
    e.status(200);
    e.consumer("alice");
    e.mark(Moment.OUT_FIRST_EVENT_SENT, 1_250_000_000L);
    e.addBytesIn(42);
    e.addBytesOut(1234);
    e.tokens(1536L, 100L, false);
    e.tokenDetails(1408, 20);
    e.costUsd(new BigDecimal("0.00000075")); // exact, and never in E notation
    String line = new AccessLog(true).format(e, 3_000_000_000L, Instant.parse("2026-11-25T22:00:00Z"));
    JsonNode json = new ObjectMapper().readTree(line);
    assertThat(json.isObject()).isTrue();
    List<String> fields = List.of("ts", "request_id", "route", "consumer", "client_ip", "method", "path",
        "status", "upstream", "model", "failovers", "ttft_ms", "duration_ms", "tokens_in", "tokens_out",
        "tokens_estimated", "tokens_cached", "tokens_reasoning", "cost_usd", "bytes_in", "bytes_out", "outcome",
        "trace_id");
    assertThat(json.fieldNames()).toIterable().containsExactlyElementsOf(fields);
    assertThat(json.get("trace_id").isNull()).as("no trace: tracing is off").isTrue();
    assertThat(json.get("ttft_ms").asLong()).isEqualTo(250);
    assertThat(json.get("duration_ms").asLong()).isEqualTo(2000);
    assertThat(json.get("consumer").asText()).isEqualTo("alice");
    assertThat(json.get("ts").asText()).isEqualTo("2026-11-25T22:00:00Z");
    assertThat(json.get("tokens_cached").asLong()).isEqualTo(1408);
    assertThat(json.get("tokens_reasoning").asLong()).isEqualTo(20);
    assertThat(line).contains("\"cost_usd\":0.00000075");
    assertThat(new AccessLog(false).format(e, 3_000_000_000L, Instant.parse("2026-11-25T22:00:00Z")))
        .contains("tokens_cached=1408 tokens_reasoning=20 cost_usd=0.00000075 ");
    fields.forEach(f -> assertThat(json.get(f).isContainerNode()).as(f + " is flat").isFalse());
  }

  private void awaitLines(int n) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (lines.list.size() < n && System.nanoTime() < deadline) {
      Thread.sleep(10); // the line is written just after the response's last byte
    }
    assertThat(lines.list).hasSize(n);
  }
}
