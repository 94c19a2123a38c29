package io.sluice.soak;

import io.sluice.testing.WsClient;
import io.sluice.testing.WsFrame;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;

/**
 * One soak thread of WebSocket sessions through the gateway to the mock model server's realtime
 * echo: each session sends a random number of text and binary messages and checks every echo;
 * most end with a close handshake (1000 both ways), some drop the TCP connection mid-session.
 */
final class WsSessions implements Runnable {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private final int port;
  private final Random random;
  private final long deadlineNanos;
  private final Tally tally;

  WsSessions(int port, long seed, long deadlineNanos, Tally tally) {
    this.port = port;
    this.random = new Random(seed);
    this.deadlineNanos = deadlineNanos;
    this.tally = tally;
  }

  @Override
  public void run() {
    while (System.nanoTime() < deadlineNanos) {
      int messages = 5 + random.nextInt(40);
      int dropAfter = random.nextDouble() < 0.2 ? random.nextInt(messages) : -1;
      tally.add("ws.started");
      WsClient ws = null;
      try {
        ws = WsClient.connect(port, "/v1/realtime");
        if (ws.status() != 101) {
          tally.add("ws.errored.http_" + ws.status());
          continue;
        }
        boolean dropped = false;
        for (int i = 0; i < messages; i++) {
          if (i == dropAfter) {
            dropped = true;
            break;
          }
          if (random.nextBoolean()) {
            String text = "soak message " + i + " " + random.nextInt(1_000_000);
            ws.send(WsFrame.text(text, true));
            WsFrame delta = ws.next(WAIT);
            WsFrame done = ws.next(WAIT);
            if (!delta.text().contains("You said: " + text) || !done.text().contains("response.done")) {
              throw new IllegalStateException("echo of '" + text + "' was " + delta + " / " + done);
            }
          } else {
            byte[] bytes = new byte[1 + random.nextInt(4096)];
            random.nextBytes(bytes);
            ws.send(WsFrame.binary(bytes, true, 0));
            WsFrame echo = ws.next(WAIT);
            if (!echo.kind().equals("binary") || !Arrays.equals(echo.payload(), bytes)) {
              throw new IllegalStateException("binary echo differs: " + echo);
            }
          }
          tally.add("ws.messages");
        }
        if (dropped) {
          tally.add("ws.dropped"); // close() below cuts the TCP connection without a close frame
        } else {
          ws.send(WsFrame.close(1000, "soak done"));
          WsFrame close = ws.next(WAIT);
          if (!close.kind().equals("close") || close.closeCode() != 1000) {
            throw new IllegalStateException("expected close 1000, got " + close);
          }
          tally.add("ws.completed");
        }
      } catch (Throwable e) { // WsClient signals timeouts with AssertionError
        tally.unaccounted("websocket session: " + e);
        tally.add("ws.unaccounted");
      } finally {
        if (ws != null) {
          ws.close();
        }
      }
    }
  }
}
