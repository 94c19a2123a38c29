package io.sluice.observe;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigDecimal;
import java.time.Instant;
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
    return new Line(e, endNanos, now, json);
  }

  /**
   * An access-log line not yet formatted: an immutable snapshot of its fields that formats itself
   * in {@link #toString()}, so an appender may render it on another thread.
   *
   * <p>Why plain fields: this is all the event loop builds per request (~100 bytes); the text is
   * made by whoever formats the line.
   */
  public static final class Line {
    private final boolean json;
    private final Instant ts;
    private final String requestId;
    private final String route;
    private final String consumer;
    private final String clientIp;
    private final String method;
    private final String path;
    private final int status;
    private final String upstream;
    private final String model;
    private final int failovers;
    private final boolean sentEvent;
    private final long ttftMs;
    private final long durationMs;
    private final Long tokensIn;
    private final Long tokensOut;
    private final boolean tokensEstimated;
    private final Long tokensCached;
    private final Long tokensReasoning;
    private final BigDecimal costUsd;
    private final long bytesIn;
    private final long bytesOut;
    private final String outcome;
    private final String traceId;

    private Line(Exchange e, long endNanos, Instant now, boolean json) {
      this.json = json;
      long firstToken = e.at(Moment.OUT_FIRST_TOKEN_SENT);
      long firstEvent = firstToken >= 0 ? firstToken : e.at(Moment.OUT_FIRST_EVENT_SENT);
      ts = now;
      requestId = e.requestId();
      route = e.routeName();
      consumer = e.consumer();
      clientIp = e.clientIp();
      method = e.method();
      path = e.path();
      status = e.status();
      upstream = e.upstreamName();
      model = e.model();
      failovers = e.failovers();
      sentEvent = firstEvent >= 0;
      ttftMs = (firstEvent - e.startNanos()) / 1_000_000;
      durationMs = (endNanos - e.startNanos()) / 1_000_000;
      tokensIn = e.tokensIn();
      tokensOut = e.tokensOut();
      tokensEstimated = e.tokensEstimated();
      tokensCached = e.tokensCached();
      tokensReasoning = e.tokensReasoning();
      costUsd = e.costUsd();
      bytesIn = e.bytesIn();
      bytesOut = e.bytesOut();
      outcome = e.outcome();
      traceId = e.trace().traceId();
    }

    @Override
    public String toString() {
      StringBuilder b = new StringBuilder(TEXT_SIZE);
      appendTo(b);
      return b.toString();
    }

    /** The line, as {@link #toString()} renders it, appended to {@code b}. */
    public void appendTo(StringBuilder b) {
      if (json) {
        appendJson(b);
      } else {
        appendText(b);
      }
    }

    /**
     * The JSON line appended to {@code b}: what {@code ObjectMapper.writeValueAsString} made of a
     * map of the fields, written by the same generator straight into {@code b} — no map, no
     * boxed numbers, no string of the whole line in between (the writer formats every line).
     */
    private void appendJson(StringBuilder b) {
      try (JsonGenerator g = JSON.createGenerator(new Appending(b))) {
        g.writeStartObject();
        each(new Fields() {
          @Override
          public void field(String name, Object value) {
            try {
              g.writeFieldName(name);
              if (value == null) {
                g.writeNull();
              } else if (value instanceof String s) {
                g.writeString(s);
              } else if (value instanceof Long n) {
                g.writeNumber(n.longValue());
              } else if (value instanceof Boolean v) {
                g.writeBoolean(v);
              } else if (value instanceof BigDecimal d) {
                g.writeNumber(d); // plain, never in E notation: the mapper's WRITE_BIGDECIMAL_AS_PLAIN
              } else {
                g.writeString(value.toString());
              }
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          }

          @Override
          public void field(String name, long value) {
            try {
              g.writeFieldName(name);
              g.writeNumber(value);
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          }
        });
        g.writeEndObject();
      } catch (IOException e) {
        throw new UncheckedIOException(e); // a StringBuilder does not fail
      }
    }

    /**
     * The text line ({@code key=value ...}) appended to {@code b}: no map, no boxed numbers, no
     * string per number — the access log's writer formats every line, so what it allocates per
     * line is garbage per request.
     */
    private void appendText(StringBuilder b) {
      int start = b.length();
      each(new Fields() {
        @Override
        public void field(String name, Object value) {
          if (value instanceof Long number) {
            field(name, number.longValue()); // the same digits, without a string for them
            return;
          }
          key(name);
          String s = value == null ? "-" : value instanceof BigDecimal d ? d.toPlainString() : value.toString();
          if (s.isEmpty() || s.indexOf(' ') >= 0 || s.indexOf('"') >= 0) {
            b.append('"').append(s.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
          } else {
            b.append(s);
          }
        }

        @Override
        public void field(String name, long value) {
          key(name);
          b.append(value);
        }

        @Override
        public void field(String name, Instant value) {
          key(name);
          IsoInstant.append(b, value); // Instant.toString's text, without its formatter's garbage
        }

        private void key(String name) {
          if (b.length() > start) {
            b.append(' ');
          }
          b.append(name).append('=');
        }
      });
    }

    /** The line's fields, in order: the one list both renderings take. */
    private void each(Fields f) {
      f.field("ts", ts);
      f.field("request_id", requestId);
      f.field("route", route);
      f.field("consumer", consumer);
      f.field("client_ip", clientIp);
      f.field("method", method);
      f.field("path", path);
      f.field("status", status);
      f.field("upstream", upstream);
      f.field("model", model);
      f.field("failovers", failovers);
      if (sentEvent) {
        f.field("ttft_ms", ttftMs);
      } else {
        f.field("ttft_ms", (Object) null);
      }
      f.field("duration_ms", durationMs);
      f.field("tokens_in", tokensIn);
      f.field("tokens_out", tokensOut);
      f.field("tokens_estimated", tokensEstimated);
      f.field("tokens_cached", tokensCached);
      f.field("tokens_reasoning", tokensReasoning);
      f.field("cost_usd", costUsd); // exact, never in E notation
      f.field("bytes_in", bytesIn);
      f.field("bytes_out", bytesOut);
      f.field("outcome", outcome);
      f.field("trace_id", traceId);
    }
  }

  /** Receives a line's fields in order. */
  private interface Fields {
    void field(String name, Object value);

    /** The timestamp: by default its ISO-8601 text ({@link Instant#toString}); the text line appends it. */
    default void field(String name, Instant value) {
      field(name, (Object) value.toString());
    }

    /** A number: by default as a boxed value; both renderings take its digits as they are. */
    default void field(String name, long value) {
      field(name, (Object) value);
    }
  }

  /** Room for a typical text line (~450 characters) without growing. */
  private static final int TEXT_SIZE = 640;

  /** A writer that appends to a builder: the JSON generator's target. */
  private static final class Appending extends Writer {
    private final StringBuilder b;

    Appending(StringBuilder b) {
      this.b = b;
    }

    @Override
    public void write(char[] chars, int offset, int length) {
      b.append(chars, offset, length);
    }

    @Override
    public void write(String s, int offset, int length) {
      b.append(s, offset, offset + length);
    }

    @Override
    public void write(int c) {
      b.append((char) c);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }
}
