package io.sluice.soak;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.sluice.demo.MockModelServer;
import io.sluice.testing.FailingLeakDetector;
import io.sluice.testing.TestGateway;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.LoggerFactory;

/**
 * The bounded soak (issue 10, item 5): a whole gateway in this JVM under paranoid leak detection,
 * streaming for a given time with random client drops, resumes and upstream faults, plus a few
 * WebSocket sessions; then a report, and exit status 1 when any stream is unaccounted for, a
 * buffer leaked, the heap grew, or something is still open.
 *
 * <p>Run it with {@code bench/soak [--minutes N]} (default 10); it is not part of {@code mvn verify}.
 * What is checked:
 *
 * <ul>
 *   <li>every stream a client started ends in one bucket (see {@link SseClient}); every
 *       WebSocket session echoes every message and closes 1000, or is dropped on purpose;
 *   <li>the gateway logged one access line per request the clients sent;
 *   <li>afterwards nothing is left: {@code sluice_active_streams} 0, no generation running at the
 *       model server, every stalled upstream connection closed by the gateway;
 *   <li>no Netty buffer leaked (paranoid detector: every buffer is tracked);
 *   <li>heap after a full GC at the end is within 32 MiB (or 25 %) of the heap after the warm-up.
 * </ul>
 */
public final class Soak {
  private static final Pattern STATUS = Pattern.compile(" status=(\\d+) ");
  private static final Pattern OUTCOME = Pattern.compile(" outcome=(\\S+)");

  /** What to run. */
  public record Options(Duration duration, int sseClients, int wsClients, long seed, Path report) {
    static Options parse(String[] args) {
      double minutes = Double.parseDouble(System.getProperty("soak.minutes", "10"));
      int sse = Integer.getInteger("soak.clients", 32);
      int ws = Integer.getInteger("soak.websockets", 2);
      long seed = Long.getLong("soak.seed", 1L);
      String report = System.getProperty("soak.report", "target/soak-report.txt");
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--minutes" -> minutes = Double.parseDouble(args[++i]);
          case "--clients" -> sse = Integer.parseInt(args[++i]);
          case "--websockets" -> ws = Integer.parseInt(args[++i]);
          case "--seed" -> seed = Long.parseLong(args[++i]);
          case "--report" -> report = args[++i];
          default -> throw new IllegalArgumentException("unknown argument " + args[i]
              + " (expected --minutes N, --clients N, --websockets N, --seed N, --report FILE)");
        }
      }
      return new Options(Duration.ofMillis((long) (minutes * 60_000)), sse, ws, seed, Path.of(report));
    }
  }

  /** The outcome: the printed report and whether the soak passed. */
  public record Result(boolean ok, String report) {}

  private final Options options;
  private final Tally tally = new Tally();
  private final AccessCounter access = new AccessCounter();

  public Soak(Options options) {
    this.options = options;
  }

  public static void main(String[] args) throws Exception {
    Result result = new Soak(Options.parse(args)).run();
    System.exit(result.ok() ? 0 : 1);
  }

  /** Options from {@code -Dsoak.*} system properties (how {@code bench/soak} passes them). */
  public static Options optionsFromSystemProperties() {
    return Options.parse(new String[0]);
  }

  public Result run() throws Exception {
    if (ResourceLeakDetector.getLevel() != ResourceLeakDetector.Level.PARANOID) {
      throw new IllegalStateException("run the soak with -Dio.netty.leakDetection.level=paranoid "
          + "-Dio.netty.customResourceLeakDetector=" + FailingLeakDetector.class.getName());
    }
    quietLogs();
    int leaksBefore = FailingLeakDetector.reported().size();
    long startedAt = System.nanoTime();
    Instant startedWall = Instant.now();
    try (SoakUpstream upstream = new SoakUpstream();
        MockModelServer realtime = MockModelServer.start("127.0.0.1", 0, MockModelServer.Options.DEFAULTS);
        TestGateway gateway = TestGateway.start(config(upstream.url(), "http://127.0.0.1:" + realtime.port()))) {
      MeterRegistry registry = gateway.sluice().metrics().registry();
      long deadline = startedAt + options.duration().toNanos();
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < options.sseClients(); i++) {
        threads.add(thread("soak-sse-" + i, new SseClient(gateway.port(), options.seed() * 1000 + i, deadline, tally)));
      }
      for (int i = 0; i < options.wsClients(); i++) {
        threads.add(thread("soak-ws-" + i, new WsSessions(gateway.port(), options.seed() * 1000 + 500 + i, deadline, tally)));
      }
      threads.forEach(Thread::start);

      // Heap after a full GC: after a warm-up (classes loaded, pools and JIT settled), halfway, at the end.
      long warmUp = Math.min(options.duration().toNanos() / 10, Duration.ofSeconds(30).toNanos());
      sleepUntil(startedAt + warmUp, startedAt, upstream);
      long heapStart = heapAfterGc();
      sleepUntil(startedAt + options.duration().toNanos() / 2, startedAt, upstream);
      long heapMiddle = heapAfterGc();
      sleepUntil(deadline, startedAt, upstream);
      for (Thread t : threads) {
        t.join(Duration.ofSeconds(90).toMillis());
        if (t.isAlive()) {
          tally.unaccounted(t.getName() + " still running 90 s after the deadline");
        }
      }
      long loadEnded = System.nanoTime();

      // Everything the clients started has ended: the gateway must come back to nothing.
      long expectedLines = tally.get("sse.requests") + tally.get("ws.started");
      boolean quiet = await(Duration.ofSeconds(60), () -> activeStreams(registry) == 0
          && upstream.running.get() == 0 && upstream.stalledOpen.get() == 0
          && access.lines() >= expectedLines && sessions(registry) == 0);
      long heapEnd = heapAfterGc();
      List<String> leaks = leaksSince(leaksBefore);

      StringBuilder r = new StringBuilder();
      double seconds = (loadEnded - startedAt) / 1e9;
      long events = tally.get("events");
      r.append(String.format("Sluice soak, %s, %.1f minutes, %d SSE clients + %d WebSocket clients, seed %d%n",
          startedWall, seconds / 60, options.sseClients(), options.wsClients(), options.seed()));
      r.append(String.format("  java %s, %d cores, -Xmx%d MiB, leak detection %s%n",
          System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(),
          Runtime.getRuntime().maxMemory() >> 20, ResourceLeakDetector.getLevel()));
      r.append("SSE streams\n");
      line(r, "started", tally.get("sse.started"));
      line(r, "completed", tally.get("sse.completed"));
      line(r, "resumed (completed after reconnects)", tally.get("sse.resumed"));
      line(r, "reconnects with Last-Event-ID", tally.get("sse.resumes"));
      line(r, "dropped by the client (no resume route)", tally.get("sse.dropped"));
      long errored = tally.byPrefix("sse.errored.").values().stream().mapToLong(Long::longValue).sum();
      line(r, "errored with a reason", errored);
      tally.byPrefix("sse.errored.").forEach((k, v) -> line(r, "  " + k, v));
      tally.byPrefix("sse.errored_unplanned.").forEach((k, v) -> line(r, "  of which not planned: " + k, v));
      long sseUnaccounted = tally.get("sse.started") - tally.get("sse.completed") - tally.get("sse.resumed")
          - tally.get("sse.dropped") - errored;
      line(r, "unaccounted", sseUnaccounted);
      line(r, "events relayed (to the clients)", events);
      r.append(String.format("  %-44s %,14.0f%n", "events per second", events / seconds));
      line(r, "HTTP requests sent (streams + reconnects)", tally.get("sse.requests"));
      r.append("WebSocket sessions\n");
      line(r, "started", tally.get("ws.started"));
      line(r, "completed (close 1000)", tally.get("ws.completed"));
      line(r, "dropped by the client", tally.get("ws.dropped"));
      tally.byPrefix("ws.errored.").forEach((k, v) -> line(r, "errored " + k, v));
      line(r, "unaccounted", tally.get("ws.unaccounted"));
      line(r, "messages echoed", tally.get("ws.messages"));
      r.append("Model server\n");
      line(r, "generations started", upstream.started.sum());
      line(r, "finished", upstream.finished.sum());
      line(r, "reset on purpose", upstream.resets.sum());
      line(r, "stalled on purpose", upstream.stalls.sum());
      line(r, "cancelled by the gateway (client gone)", upstream.cancelled.sum());
      line(r, "still running at the end", upstream.running.get());
      line(r, "stalled connections left open", upstream.stalledOpen.get());
      r.append("Gateway\n");
      line(r, "access-log lines", access.lines());
      access.byStatus().forEach((k, v) -> line(r, "  status " + k, v));
      access.byOutcome().forEach((k, v) -> line(r, "  outcome " + k, v));
      line(r, "sluice_requests_total", (long) requestsTotal(registry));
      line(r, "sluice_active_streams at the end", (long) activeStreams(registry));
      line(r, "sluice_stream_sessions at the end", (long) sessions(registry));
      line(r, "Netty buffer leaks (paranoid)", leaks.size());
      r.append(String.format("  %-44s %,10.1f / %,.1f / %,.1f%n", "heap after full GC, MiB (start/middle/end)",
          heapStart / 1048576.0, heapMiddle / 1048576.0, heapEnd / 1048576.0));

      List<String> failures = new ArrayList<>();
      if (tally.get("unaccounted") > 0 || sseUnaccounted != 0) {
        failures.add(tally.get("unaccounted") + " stream(s) or session(s) unaccounted for");
      }
      if (!leaks.isEmpty()) {
        failures.add(leaks.size() + " buffer leak(s)");
      }
      if (!quiet) {
        failures.add("not back to idle within 60 s (streams, generations, sessions or access lines)");
      }
      if (access.lines() != expectedLines) {
        failures.add("access-log lines " + access.lines() + " != requests sent " + expectedLines);
      }
      if (heapEnd > heapStart + Math.max(32L << 20, heapStart / 4)) {
        failures.add("heap grew from " + (heapStart >> 20) + " MiB to " + (heapEnd >> 20) + " MiB");
      }
      if (tally.get("sse.started") == 0 || events == 0) {
        failures.add("nothing was streamed");
      }
      r.append(failures.isEmpty() ? "PASS\n" : "FAIL: " + String.join("; ", failures) + "\n");
      tally.samples().forEach(s -> r.append("  unaccounted: ").append(s).append('\n'));
      tally.notes().forEach(s -> r.append("  not planned: ").append(s).append('\n'));
      leaks.stream().limit(3).forEach(s -> r.append("  ").append(s).append('\n'));
      String report = r.toString();
      System.out.print(report);
      writeReport(report);
      return new Result(failures.isEmpty(), report);
    }
  }

  private String config(String models, String realtime) {
    return """
        io-threads: 2
        limits: { request-header-timeout: 10s, idle-timeout: 60s }
        upstreams:
          - name: models
            endpoints: [ { url: "%s" } ]
            first-byte-timeout: 10s
            stream-idle-timeout: 5s          # a stalled generation ends with upstream_timeout
            max-connections-per-endpoint: 4096
          - name: realtime
            endpoints: [ { url: "%s" } ]
        routes:
          - name: chat
            match: { path: /v1/chat/completions, methods: [POST] }
            upstream: models
            api: openai-chat
          - name: resumable
            match: { path: /v1/resumable, methods: [POST] }
            upstream: models
            api: openai-chat
            rewrite-path: /v1/chat/completions
            sse: { resume: { enabled: true, ttl: 20s } }
          - name: realtime
            match: { path-prefix: /v1/realtime }
            upstream: realtime
            websocket: { enabled: true }
        """.formatted(models, realtime);
  }

  // ---- progress, heap, leaks ------------------------------------------------------------------------

  /** Sleeps until {@code until}, printing a progress line every 30 s. */
  private void sleepUntil(long until, long startedAt, SoakUpstream upstream) throws InterruptedException {
    while (true) {
      long now = System.nanoTime();
      if (now >= until) {
        return;
      }
      long nextTick = startedAt + ((now - startedAt) / 30_000_000_000L + 1) * 30_000_000_000L;
      Thread.sleep(Math.max(1, (Math.min(until, nextTick) - now) / 1_000_000));
      if (System.nanoTime() >= nextTick) {
        double s = (System.nanoTime() - startedAt) / 1e9;
        System.out.printf("[soak %4.0fs] streams %,d  events %,d (%,.0f/s)  ws sessions %,d  unaccounted %d"
                + "  generations running %d  heap %,d MiB%n", s, tally.get("sse.started"), tally.get("events"),
            tally.get("events") / s, tally.get("ws.started"), tally.get("unaccounted"), upstream.running.get(),
            ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() >> 20);
      }
    }
  }

  private static long heapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(50); // lets the reference handler run between collections
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** Leaks are reported when a collected buffer's tracker is polled: collect, then allocate a few. */
  private static List<String> leaksSince(int before) throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(50);
      for (int j = 0; j < 16; j++) {
        ByteBuf probe = PooledByteBufAllocator.DEFAULT.directBuffer(16);
        probe.release();
      }
    }
    List<String> all = FailingLeakDetector.reported();
    return all.subList(Math.min(before, all.size()), all.size());
  }

  private static boolean await(Duration timeout, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(100); // polling the gateway's state with a deadline
    }
    return true;
  }

  private static double activeStreams(MeterRegistry registry) {
    return registry.find("sluice.active.streams").gauges().stream().mapToDouble(Gauge::value).sum();
  }

  private static double sessions(MeterRegistry registry) {
    return registry.find("sluice.stream.sessions").gauges().stream().mapToDouble(Gauge::value).sum();
  }

  private static double requestsTotal(MeterRegistry registry) {
    return registry.find("sluice.requests").counters().stream().mapToDouble(Counter::count).sum();
  }

  private static Thread thread(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  private static void line(StringBuilder r, String what, long n) {
    r.append(String.format("  %-44s %,14d%n", what, n));
  }

  private void writeReport(String report) {
    try {
      Path file = options.report();
      if (file.getParent() != null) {
        Files.createDirectories(file.getParent());
      }
      Files.writeString(file, report);
    } catch (IOException e) {
      System.err.println("soak: could not write the report to " + options.report() + ": " + e);
    }
  }

  /**
   * Keeps the console to the soak's own lines (a million access lines would drown them) while
   * the access log is still counted, by status and outcome, line by line.
   */
  private void quietLogs() {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.WARN);
    Logger accessLog = (Logger) LoggerFactory.getLogger("sluice.access");
    accessLog.setLevel(Level.INFO);
    accessLog.setAdditive(false);
    access.setContext(accessLog.getLoggerContext());
    access.start();
    accessLog.addAppender(access);
  }

  /** Counts access-log lines by status and outcome; keeps nothing else. */
  private static final class AccessCounter extends AppenderBase<ILoggingEvent> {
    private final Tally counts = new Tally();

    @Override
    protected void append(ILoggingEvent event) {
      String line = event.getFormattedMessage();
      counts.add("lines");
      Matcher s = STATUS.matcher(line);
      counts.add("status." + (s.find() ? s.group(1) : "?"));
      Matcher o = OUTCOME.matcher(line);
      counts.add("outcome." + (o.find() ? o.group(1) : "?"));
    }

    long lines() {
      return counts.get("lines");
    }

    Map<String, Long> byStatus() {
      return new TreeMap<>(counts.byPrefix("status."));
    }

    Map<String, Long> byOutcome() {
      return new TreeMap<>(counts.byPrefix("outcome."));
    }
  }
}
