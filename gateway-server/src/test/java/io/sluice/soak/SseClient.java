package io.sluice.soak;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One soak client thread: plans random streams and checks each one to the last event, until
 * the soak's deadline. A plan picks the route (plain or resumable), the length, the pacing, an
 * upstream fault (reset or stall at chunk K) and client drops (FIN or RST after D events; on the
 * resumable route followed by a reconnect with {@code Last-Event-ID}).
 *
 * <p>Every stream ends in exactly one bucket: completed, resumed (completed after reconnects),
 * errored with the gateway's reason ({@code event: error} or an HTTP error's {@code code}),
 * dropped by the client on purpose — or unaccounted: a gap, a duplicate, a body that ended
 * without {@code [DONE]} or an error (a silent truncation), a hang, a connection cut by the
 * gateway. The soak fails on any unaccounted stream.
 */
final class SseClient implements Runnable {
  private static final Pattern TOKEN = Pattern.compile("\"content\":\"t(\\d+) \"");
  private static final Pattern CODE = Pattern.compile("\"code\":\"([a-z_]+)\"");
  private static final int READ_TIMEOUT_MS = 30_000;

  private final int port;
  private final Random random;
  private final long deadlineNanos;
  private final Tally tally;
  private HttpConn conn;

  SseClient(int port, long seed, long deadlineNanos, Tally tally) {
    this.port = port;
    this.random = new Random(seed);
    this.deadlineNanos = deadlineNanos;
    this.tally = tally;
  }

  /** What one stream will do. {@code drops} are event counts after which the client leaves. */
  record Plan(boolean resumable, int tokens, int interval, String fault, int faultAt, int[] drops, boolean rst) {
    @Override
    public String toString() {
      return (resumable ? "resumable" : "chat") + " tokens=" + tokens + " interval=" + interval + "ms fault="
          + fault + (faultAt >= 0 ? "@" + faultAt : "") + " drops=" + Arrays.toString(drops)
          + (drops.length > 0 ? (rst ? " rst" : " fin") : "");
    }

    static Plan random(Random r) {
      boolean resumable = r.nextDouble() < 0.3;
      int tokens = 10 + r.nextInt(190);
      int interval = r.nextDouble() < 0.15 ? 1 + r.nextInt(8) : 0;
      double f = r.nextDouble();
      String fault = f < 0.06 ? "reset" : f < 0.10 ? "stall" : "none";
      int faultAt = fault.equals("none") ? -1 : r.nextInt(tokens);
      int[] drops = new int[0];
      if (r.nextDouble() < (resumable ? 0.4 : 0.15)) {
        int first = 1 + r.nextInt(tokens - 1);
        drops = resumable && r.nextBoolean() && first < tokens - 1
            ? new int[] {first, first + 1 + r.nextInt(tokens - 1 - first)}
            : new int[] {first};
      }
      return new Plan(resumable, tokens, interval, fault, faultAt, drops, r.nextBoolean());
    }
  }

  @Override
  public void run() {
    while (System.nanoTime() < deadlineNanos) {
      Plan plan = Plan.random(random);
      tally.add("sse.started");
      try {
        stream(plan);
      } catch (SocketTimeoutException e) {
        tally.unaccounted("no byte for " + READ_TIMEOUT_MS + " ms (a hang): " + plan);
        closeConn();
      } catch (IOException | RuntimeException e) {
        tally.unaccounted(e + " in " + plan);
        closeConn();
      }
    }
    closeConn();
  }

  private void stream(Plan plan) throws IOException {
    int next = 0; // the next content chunk expected
    int dropIndex = 0;
    int resumes = 0;
    String lastId = null;
    HttpConn c = request(plan, null);
    HttpConn.Head head = c.readHead();
    if (head.status() != 200) {
      httpError(plan, c, head);
      return;
    }
    while (true) {
      String id = null;
      String event = null;
      String data = null;
      String line;
      while ((line = c.bodyLine()) != null && !line.isEmpty()) {
        if (line.startsWith("id:")) {
          id = line.substring(3).trim();
        } else if (line.startsWith("event:")) {
          event = line.substring(6).trim();
        } else if (line.startsWith("data:")) {
          data = line.substring(5).trim();
        } // ": ping" comments and retry: lines carry no event
      }
      if (line == null) {
        // The body ended cleanly without [DONE] or an error event: a silent truncation.
        tally.unaccounted("clean end after " + next + " chunks without [DONE] or error: " + plan);
        closeConn();
        return;
      }
      if (data == null) {
        continue; // a comment-only block
      }
      if (id != null) {
        lastId = id;
      }
      if ("error".equals(event)) {
        Matcher m = CODE.matcher(data);
        String code = m.find() ? m.group(1) : "no_code";
        // Chunks before a reset may be lost with the upstream's connection; never one after the fault.
        boolean planned = !plan.fault().equals("none") && next <= plan.faultAt()
            && (plan.fault().equals("reset") || next == plan.faultAt());
        tally.add("sse.errored." + code);
        if (!planned) {
          tally.add("sse.errored_unplanned." + code);
          tally.note(code + " after " + next + " chunks, " + resumes + " reconnects: " + plan);
        }
        finish(c);
        return;
      }
      tally.add("events");
      if (data.equals("[DONE]")) {
        if (next != plan.tokens()) {
          tally.unaccounted("[DONE] after " + next + " of " + plan.tokens() + " chunks: " + plan);
          closeConn();
          return;
        }
        if (!plan.fault().equals("none") && plan.faultAt() < plan.tokens()) {
          tally.unaccounted("completed although the upstream failed at " + plan.faultAt() + ": " + plan);
        } else {
          tally.add(resumes > 0 ? "sse.resumed" : "sse.completed");
        }
        finish(c);
        return;
      }
      Matcher m = TOKEN.matcher(data);
      if (!m.find() || Integer.parseInt(m.group(1)) != next) {
        tally.unaccounted("expected chunk t" + next + ", got " + data + ": " + plan);
        closeConn();
        return;
      }
      next++;
      if (dropIndex < plan.drops().length && next == plan.drops()[dropIndex]) {
        dropIndex++;
        c.drop(plan.rst());
        conn = null;
        if (!plan.resumable()) {
          tally.add("sse.dropped");
          return;
        }
        pause(random.nextInt(50)); // the client's reconnect delay; not a synchronisation
        resumes++;
        tally.add("sse.resumes");
        c = request(plan, lastId);
        head = c.readHead();
        if (head.status() != 200) {
          httpError(plan, c, head);
          return;
        }
      }
    }
  }

  private HttpConn request(Plan plan, String lastEventId) throws IOException {
    if (conn == null) {
      conn = HttpConn.open(port, READ_TIMEOUT_MS);
    }
    byte[] body = ("{\"model\":\"soak\",\"stream\":true,\"max_tokens\":" + plan.tokens()
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"soak\"}]}").getBytes(StandardCharsets.UTF_8);
    StringBuilder head = new StringBuilder()
        .append("POST ").append(plan.resumable() ? "/v1/resumable" : "/v1/chat/completions").append(" HTTP/1.1\r\n")
        .append("Host: soak\r\nContent-Type: application/json\r\nContent-Length: ").append(body.length).append("\r\n")
        .append("x-soak-tokens: ").append(plan.tokens()).append("\r\n")
        .append("x-soak-interval-ms: ").append(plan.interval()).append("\r\n")
        .append("x-soak-fault: ").append(plan.fault()).append("\r\n")
        .append("x-soak-fault-at: ").append(plan.faultAt()).append("\r\n");
    if (lastEventId != null) {
      head.append("Last-Event-ID: ").append(lastEventId).append("\r\n");
    }
    head.append("\r\n");
    tally.add("sse.requests");
    try {
      conn.send(head.toString(), body);
    } catch (IOException e) {
      // A kept-alive connection the gateway closed meanwhile (idle): one retry on a new one.
      closeConn();
      conn = HttpConn.open(port, READ_TIMEOUT_MS);
      conn.send(head.toString(), body);
    }
    return conn;
  }

  private void httpError(Plan plan, HttpConn c, HttpConn.Head head) throws IOException {
    String body = c.rest();
    Matcher m = CODE.matcher(body);
    String code = m.find() ? m.group(1) : "no_code";
    tally.add("sse.errored.http_" + head.status() + "_" + code);
    tally.add("sse.errored_unplanned.http_" + head.status() + "_" + code);
    tally.note("HTTP " + head.status() + " " + body + ": " + plan);
    finish(c);
  }

  /** The body was read to its end: keep the connection for the next stream when allowed. */
  private void finish(HttpConn c) throws IOException {
    c.rest();
    if (!c.endedCleanly()) {
      tally.unaccounted("the body did not end with its last chunk");
    }
    if (!c.reusable()) {
      closeConn();
    }
  }

  private void closeConn() {
    if (conn != null) {
      conn.close();
      conn = null;
    }
  }

  private static void pause(int millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
