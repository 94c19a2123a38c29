package io.sluice.testing;

import com.google.protobuf.ByteString;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;

/**
 * A collector for the tests: an OTLP/HTTP receiver on a real socket that accepts
 * {@code POST /v1/traces} (binary protobuf, as the OpenTelemetry exporter sends it), decodes
 * every span with the protocol's own classes and keeps it, with its resource, for the test.
 */
public final class OtlpReceiver implements AutoCloseable {
  /** One received span and the resource (service) that sent it. */
  public record Received(Span span, Resource resource) {
    public String traceId() {
      return hex(span.getTraceId());
    }

    public String spanId() {
      return hex(span.getSpanId());
    }

    public String parentSpanId() {
      return hex(span.getParentSpanId());
    }

    /** An attribute's value as text (strings as they are, numbers in decimal), or null. */
    public String attribute(String key) {
      return value(span.getAttributesList(), key);
    }

    public String resourceAttribute(String key) {
      return value(resource.getAttributesList(), key);
    }

    public List<String> eventNames() {
      return span.getEventsList().stream().map(Span.Event::getName).toList();
    }
  }

  private final HttpServer server;
  private final LinkedBlockingQueue<Received> spans = new LinkedBlockingQueue<>();
  private final AtomicInteger requests = new AtomicInteger();
  private volatile CountDownLatch gate = new CountDownLatch(0);

  private OtlpReceiver(HttpServer server) {
    this.server = server;
  }

  public static OtlpReceiver start() throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    OtlpReceiver receiver = new OtlpReceiver(server);
    server.createContext("/v1/traces", receiver::handle);
    server.setExecutor(Executors.newSingleThreadExecutor());
    server.start();
    return receiver;
  }

  /** The base URL to give {@code telemetry.otlp-endpoint}. */
  public String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Export requests received so far. */
  public int requests() {
    return requests.get();
  }

  /** From now on every export waits, unanswered, until {@link #answerExports} (a collector that hangs). */
  public void holdExports() {
    gate = new CountDownLatch(1);
  }

  /** Answers the held exports and every later one at once. */
  public void answerExports() {
    gate.countDown();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      try {
        gate.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      if (!exchange.getRequestMethod().equals("POST")) {
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      InputStream in = exchange.getRequestBody();
      if ("gzip".equalsIgnoreCase(exchange.getRequestHeaders().getFirst("Content-Encoding"))) {
        in = new GZIPInputStream(in);
      }
      ExportTraceServiceRequest request = ExportTraceServiceRequest.parseFrom(in.readAllBytes());
      requests.incrementAndGet();
      for (ResourceSpans rs : request.getResourceSpansList()) {
        for (ScopeSpans ss : rs.getScopeSpansList()) {
          for (Span span : ss.getSpansList()) {
            spans.add(new Received(span, rs.getResource()));
          }
        }
      }
      byte[] answer = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
      exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
      exchange.sendResponseHeaders(200, answer.length == 0 ? -1 : answer.length);
      exchange.getResponseBody().write(answer);
    }
  }

  /**
   * Takes received spans until one matches {@code last} (the spans before it included), waiting
   * up to {@code timeout} for each; fails when none comes.
   */
  public List<Received> takeUntil(Predicate<Received> last, Duration timeout) throws InterruptedException {
    List<Received> taken = new ArrayList<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Received r = spans.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (r == null) {
        throw new AssertionError("no matching span within " + timeout + "; got " + taken);
      }
      taken.add(r);
      if (last.test(r)) {
        return taken;
      }
    }
  }

  /** Spans received and not taken yet. */
  public List<Received> drain() {
    List<Received> rest = new ArrayList<>();
    spans.drainTo(rest);
    return rest;
  }

  @Override
  public void close() {
    answerExports();
    server.stop(0);
    ((ExecutorService) server.getExecutor()).shutdownNow();
  }

  private static String hex(ByteString bytes) {
    return HexFormat.of().formatHex(bytes.toByteArray());
  }

  private static String value(List<KeyValue> attributes, String key) {
    for (KeyValue kv : attributes) {
      if (kv.getKey().equals(key)) {
        AnyValue v = kv.getValue();
        return switch (v.getValueCase()) {
          case STRING_VALUE -> v.getStringValue();
          case INT_VALUE -> Long.toString(v.getIntValue());
          case BOOL_VALUE -> Boolean.toString(v.getBoolValue());
          case DOUBLE_VALUE -> Double.toString(v.getDoubleValue());
          default -> v.toString();
        };
      }
    }
    return null;
  }
}
