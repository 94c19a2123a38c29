package io.sluice.session;

import io.sluice.observe.GatewayMetrics;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Measures the heap a buffered stream session really takes (not a test: run by hand, numbers go
 * to gateway-core/docs/streams.md). Sessions of typical OpenAI chat chunks, as the store keeps them.
 *
 * <pre>java -cp gateway-core/target/classes:gateway-core/target/test-classes:$(cat cp.txt) \
 *   io.sluice.session.SessionMemoryProbe 2000 200</pre>
 */
public final class SessionMemoryProbe {
  public static void main(String[] args) throws Exception {
    int sessions = Integer.parseInt(args[0]);
    int events = Integer.parseInt(args[1]);
    StreamSessions store = new StreamSessions(Long.MAX_VALUE, new GatewayMetrics(), null);
    List<StreamSession> held = new ArrayList<>();
    long before = usedHeap();
    for (int i = 0; i < sessions; i++) {
      StreamSession s = store.create("consumer:alice", "chat", 1024, 1024 * 1024, Duration.ofMinutes(5));
      for (int seq = 1; seq <= events; seq++) {
        String chunk = "id: " + s.id() + "." + seq + "\ndata: {\"id\":\"chatcmpl-8x2kq9\",\"object\":\"chat.completion.chunk\","
            + "\"created\":1732579200,\"model\":\"qwen-2.5-7b\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok"
            + seq + "\"},\"finish_reason\":null}]}\n\n";
        s.append(seq, chunk.getBytes(StandardCharsets.UTF_8));
      }
      held.add(s);
    }
    long after = usedHeap();
    long payload = 0;
    for (StreamSession s : held) {
      payload += ((StreamSession.Read.Events) s.readAfter(0, Integer.MAX_VALUE)).events().stream()
          .mapToLong(e -> e.bytes().length).sum();
    }
    double perSession = (after - before) / (double) sessions;
    System.out.printf("sessions=%d events/session=%d heap/session=%.0f B payload/session=%.0f B "
            + "overhead/event=%.0f B counted/session=%.0f B%n",
        sessions, events, perSession, payload / (double) sessions,
        (perSession - payload / (double) sessions) / events, store.weightedBytes() / (double) sessions);
    if (held.size() != sessions) {
      throw new AssertionError();
    }
  }

  private static long usedHeap() throws InterruptedException {
    for (int i = 0; i < 5; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
