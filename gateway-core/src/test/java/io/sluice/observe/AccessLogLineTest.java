package io.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.LinkedHashMap;
import org.junit.jupiter.api.Test;

/**
 * The access-log line as the writer renders it: the JSON line is exactly what a mapper makes of
 * the same fields as a map (the rendering before it was written straight into the builder), and
 * the text line keeps its format — numbers, the timestamp, quoting.
 */
class AccessLogLineTest {
  private static final Instant NOW = Instant.parse("2026-12-07T13:01:02.123456Z");
  /** How the line was made before: a map of the fields, written by this mapper. */
  private static final ObjectMapper MAP_WRITER = JsonMapper.builder()
      .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN).build();
  private static final ObjectMapper READER = JsonMapper.builder()
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS).build();

  private static Exchange full() {
    Exchange e = new Exchange("req-\"7\"", "10.0.0.7", "POST", "/v1/chat completions\\x", 1_000_000L);
    e.routeName("caf\u00e9 \u2603");
    e.consumer("team\tA");
    e.upstream("openai", "http://10.0.0.1:8080");
    e.model("gpt-4o");
    e.status(200);
    e.failedOver();
    e.mark(Moment.OUT_FIRST_TOKEN_SENT, 51_000_000L);
    e.tokens(12_345L, 678L, true);
    e.tokenDetails(0L, 128L);
    e.costUsd(new BigDecimal("0.00000012500"));
    e.addBytesIn(1234);
    e.addBytesOut(98_765);
    e.outcome("ok");
    return e;
  }

  private static Exchange bare() {
    return new Exchange("r", "::1", "GET", "/v1/models", 0);
  }

  @Test
  void theJsonLineIsWhatTheMapperMadeOfTheFieldsAsAMap() throws Exception {
    for (Exchange e : new Exchange[] {full(), bare()}) {
      String line = new AccessLog(true).format(e, 2_001_000_000L, NOW);
      LinkedHashMap<?, ?> fields = READER.readValue(line, LinkedHashMap.class);
      assertThat(line).isEqualTo(MAP_WRITER.writeValueAsString(fields));
    }
    assertThat(new AccessLog(true).format(full(), 2_001_000_000L, NOW)).isEqualTo(
        "{\"ts\":\"2026-12-07T13:01:02.123456Z\",\"request_id\":\"req-\\\"7\\\"\",\"route\":\"caf\u00e9 \u2603\","
            + "\"consumer\":\"team\\tA\",\"client_ip\":\"10.0.0.7\",\"method\":\"POST\","
            + "\"path\":\"/v1/chat completions\\\\x\",\"status\":200,\"upstream\":\"openai\",\"model\":\"gpt-4o\","
            + "\"failovers\":1,\"ttft_ms\":50,\"duration_ms\":2000,\"tokens_in\":12345,\"tokens_out\":678,"
            + "\"tokens_estimated\":true,\"tokens_cached\":0,\"tokens_reasoning\":128,\"cost_usd\":0.00000012500,"
            + "\"bytes_in\":1234,\"bytes_out\":98765,\"outcome\":\"ok\",\"trace_id\":null}");
    assertThat(new AccessLog(true).format(bare(), 2_000_000L, NOW))
        .contains("\"ttft_ms\":null,\"duration_ms\":2,\"tokens_in\":null");
  }

  @Test
  void theTextLineKeepsItsFormat() {
    assertThat(new AccessLog(false).format(full(), 2_001_000_000L, NOW)).isEqualTo(
        "ts=2026-12-07T13:01:02.123456Z request_id=\"req-\\\"7\\\"\" route=\"caf\u00e9 \u2603\" consumer=team\tA"
            + " client_ip=10.0.0.7 method=POST path=\"/v1/chat completions\\\\x\" status=200 upstream=openai"
            + " model=gpt-4o failovers=1 ttft_ms=50 duration_ms=2000 tokens_in=12345 tokens_out=678"
            + " tokens_estimated=true tokens_cached=0 tokens_reasoning=128 cost_usd=0.00000012500 bytes_in=1234"
            + " bytes_out=98765 outcome=ok trace_id=-");
  }

  /** One line's rendering appended after another's leaves both intact (the writer reuses its builder). */
  @Test
  void linesAppendAfterWhatTheBuilderHolds() {
    for (boolean json : new boolean[] {false, true}) {
      AccessLog log = new AccessLog(json);
      StringBuilder b = new StringBuilder("prefix|");
      log.line(full(), 2_001_000_000L, NOW).appendTo(b);
      b.append('|');
      log.line(bare(), 2_000_000L, NOW).appendTo(b);
      assertThat(b.toString()).isEqualTo("prefix|" + log.format(full(), 2_001_000_000L, NOW) + "|"
          + log.format(bare(), 2_000_000L, NOW));
    }
  }
}
