package io.sluice.observe;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per exchange when it ends (README, "Operations", Access log), to the logger
 * {@code sluice.access}: flat JSON with {@code --log-format json}, {@code key=value} pairs
 * otherwise. Never a query string, key or token: the path is logged without its query and no header
 * is logged at all.
 *
 * <p>Threading: called on event loops, so the logger must not block — the shipped logback.xml
 * puts it behind an asynchronous appender that never blocks and counts what it drops.
 */
public final class AccessLog {
  private static final Logger ACCESS = LoggerFactory.getLogger("sluice.access");
  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN).build();

  private final boolean json;

  /** @param json one flat JSON object per line instead of key=value pairs */
  public AccessLog(boolean json) {
    this.json = json;
  }

  /** The format the process was started with ({@code --log-format}). */
  public static AccessLog fromSystemProperty() {
    return new AccessLog("JSON".equalsIgnoreCase(System.getProperty("sluice.log.format")));
  }

  public void log(Exchange e, long endNanos) {
    if (!ACCESS.isInfoEnabled()) {
      return;
    }
    // The fields are taken now (the exchange is not ours once this returns); the line is written
    // out by whoever renders the log event: the access log's asynchronous appender on its worker
    // thread (gateway-server's AccessLogAppender), not the event loop.
    ACCESS.info("{}", line(e, endNanos, Instant.now()));
  }

  /** The line for an exchange (visible for tests). */
  public String format(Exchange e, long endNanos, Instant now) {
    return line(e, endNanos, now).toString();
  }

  /** The line for an exchange, its fields taken now, formatted when written. */
  public Line line(Exchange e, long endNanos, Instant now) {
    return new Line(fields(e, endNanos, now), json);
  }

  /**
   * An access-log line not yet formatted: an immutable snapshot of its fields that formats itself
   * in {@link #toString()}, so an appender may render it on another thread.
   */
  public static final class Line {
    private final Map<String, Object> fields;
    private final boolean json;

    private Line(Map<String, Object> fields, boolean json) {
      this.fields = fields;
      this.json = json;
    }

    @Override
    public String toString() {
      return json ? toJson(fields) : toText(fields);
    }
  }

  private Map<String, Object> fields(Exchange e, long endNanos, Instant now) {
    long firstToken = e.at(Moment.OUT_FIRST_TOKEN_SENT);
    long firstEvent = firstToken >= 0 ? firstToken : e.at(Moment.OUT_FIRST_EVENT_SENT);
    Map<String, Object> f = new LinkedHashMap<>();
    f.put("ts", now.toString());
    f.put("request_id", e.requestId());
    f.put("route", e.routeName());
    f.put("consumer", e.consumer());
    f.put("client_ip", e.clientIp());
    f.put("method", e.method());
    f.put("path", e.path());
    f.put("status", e.status());
    f.put("upstream", e.upstreamName());
    f.put("model", e.model());
    f.put("failovers", e.failovers());
    f.put("ttft_ms", firstEvent < 0 ? null : (firstEvent - e.startNanos()) / 1_000_000);
    f.put("duration_ms", (endNanos - e.startNanos()) / 1_000_000);
    f.put("tokens_in", e.tokensIn());
    f.put("tokens_out", e.tokensOut());
    f.put("tokens_estimated", e.tokensEstimated());
    f.put("tokens_cached", e.tokensCached());
    f.put("tokens_reasoning", e.tokensReasoning());
    f.put("cost_usd", e.costUsd()); // exact, never in E notation
    f.put("bytes_in", e.bytesIn());
    f.put("bytes_out", e.bytesOut());
    f.put("outcome", e.outcome());
    f.put("trace_id", e.trace().traceId());
    return f;
  }

  private static String toJson(Map<String, Object> fields) {
    try {
      return JSON.writeValueAsString(fields);
    } catch (JsonProcessingException ex) {
      throw new IllegalStateException(ex);
    }
  }

  private static String toText(Map<String, Object> fields) {
    StringBuilder b = new StringBuilder(256);
    fields.forEach((k, v) -> {
      if (b.length() > 0) {
        b.append(' ');
      }
      String s = v == null ? "-" : v instanceof BigDecimal d ? d.toPlainString() : v.toString();
      b.append(k).append('=');
      if (s.isEmpty() || s.indexOf(' ') >= 0 || s.indexOf('"') >= 0) {
        b.append('"').append(s.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
      } else {
        b.append(s);
      }
    });
    return b.toString();
  }
}
