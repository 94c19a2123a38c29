package io.sluice.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.benmanes.caffeine.cache.Scheduler;
import io.netty.buffer.Unpooled;
import io.sluice.http.ErrorKind;
import io.sluice.observe.GatewayMetrics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class StreamSessionsTest {
  private final AtomicLong now = new AtomicLong();
  private final GatewayMetrics metrics = new GatewayMetrics();
  private final StreamSessions store = new StreamSessions(1024 * 1024, metrics, null, now::get,
      Scheduler.disabledScheduler(), Runnable::run);

  private static byte[] event(String data) {
    return ("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8);
  }

  private StreamSession session(int maxEvents, long maxBytes) {
    return store.create("ip:127.0.0.1", "chat", maxEvents, maxBytes, Duration.ofMinutes(5));
  }

  @Test
  void idsAreUnguessable128BitHex() {
    StreamSession a = session(10, 1000);
    StreamSession b = session(10, 1000);
    assertThat(a.id()).matches("[0-9a-f]{32}").isNotEqualTo(b.id());
    assertThat(store.get(a.id())).isSameAs(a);
  }

  @Test
  void readsAfterACursorAndReportsTheEnd() {
    StreamSession s = session(10, 1000);
    s.append(1, event("a"));
    s.append(2, event("b"));
    s.append(3, event("c"));
    var read = (StreamSession.Read.Events) s.readAfter(1, 10);
    assertThat(read.events()).extracting(StreamSession.Event::seq).containsExactly(2L, 3L);
    assertThat(read.ended()).isFalse();
    assertThat(((StreamSession.Read.Events) s.readAfter(0, 2)).events()).extracting(StreamSession.Event::seq)
        .containsExactly(1L, 2L);
    s.end();
    assertThat(((StreamSession.Read.Events) s.readAfter(1, 10)).ended()).isTrue();
    assertThat(((StreamSession.Read.Events) s.readAfter(0, 2)).ended()).as("more to read first").isFalse();
    assertThat(((StreamSession.Read.Events) s.readAfter(3, 10)).events()).isEmpty();
    assertThat(s.readAfter(4, 10)).isInstanceOf(StreamSession.Read.Unknown.class);
  }

  @Test
  void keepsTheLastEventsWithinBothCapsAndReportsAGapBeforeThem() {
    StreamSession byCount = session(3, 1_000_000);
    for (int i = 1; i <= 5; i++) {
      byCount.append(i, event("e" + i));
    }
    assertThat(byCount.readAfter(1, 10)).isInstanceOf(StreamSession.Read.Gap.class);
    assertThat(((StreamSession.Read.Events) byCount.readAfter(2, 10)).events()).extracting(StreamSession.Event::seq)
        .containsExactly(3L, 4L, 5L);

    StreamSession byBytes = session(1000, 25); // "data: eN\n\n" is 10 bytes: two fit
    for (int i = 1; i <= 5; i++) {
      byBytes.append(i, event("e" + i));
    }
    assertThat(byBytes.readAfter(2, 10)).isInstanceOf(StreamSession.Read.Gap.class);
    assertThat(((StreamSession.Read.Events) byBytes.readAfter(3, 10)).events()).hasSize(2);
  }

  @Test
  void anEventLargerThanTheWholeBufferIsNotKept() {
    StreamSession s = session(10, 20);
    s.append(1, event("small"));
    s.append(2, event("x".repeat(100)));
    assertThat(s.readAfter(0, 10)).isInstanceOf(StreamSession.Read.Gap.class);
    assertThat(s.readAfter(1, 10)).isInstanceOf(StreamSession.Read.Gap.class);
    assertThat(((StreamSession.Read.Events) s.readAfter(2, 10)).events()).isEmpty();
  }

  @Test
  void aLostEventMakesEverythingBeforeItUnreplayable() {
    StreamSession s = session(10, 1000);
    s.append(1, event("a"));
    s.lost(2);
    s.append(3, event("c"));
    assertThat(s.readAfter(1, 10)).isInstanceOf(StreamSession.Read.Gap.class);
    assertThat(((StreamSession.Read.Events) s.readAfter(2, 10)).events()).extracting(StreamSession.Event::seq)
        .containsExactly(3L);
  }

  @Test
  void sequenceNumbersMustFollowEachOther() {
    StreamSession s = session(10, 1000);
    s.append(1, event("a"));
    assertThatThrownBy(() -> s.append(3, event("c"))).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void readersAreWokenAndAResumeDisplacesTheLiveClient() {
    StreamSession s = session(10, 1000);
    AtomicInteger wakes = new AtomicInteger();
    AtomicInteger displaced = new AtomicInteger();
    StreamSession.Reader first = new StreamSession.Reader() {
      @Override
      public void wake() {
        wakes.incrementAndGet();
      }

      @Override
      public void displaced() {
        displaced.incrementAndGet();
      }
    };
    StreamSession.Reader second = () -> {};
    s.attach(first);
    s.append(1, event("a"));
    assertThat(wakes).hasValue(1);
    s.attach(second);
    assertThat(displaced).hasValue(1);
    assertThat(s.isReader(first)).isFalse();
    s.detach(first); // too late: no effect
    assertThat(s.isReader(second)).isTrue();
  }

  @Test
  void aSessionWithAClientNeverExpiresOneWithoutExpiresAfterItsTtlAndStopsItsGeneration() {
    StreamSession s = session(10, 1000);
    AtomicReference<ErrorKind> stopped = new AtomicReference<>();
    s.generation(stopped::set);
    StreamSession.Reader client = () -> {};
    s.attach(client);
    now.addAndGet(Duration.ofHours(1).toNanos());
    store.cleanUp();
    assertThat(store.get(s.id())).as("pinned while read").isSameAs(s);
    s.detach(client);
    now.addAndGet(Duration.ofMinutes(4).toNanos());
    store.cleanUp();
    assertThat(store.get(s.id())).isSameAs(s);
    now.addAndGet(Duration.ofMinutes(2).toNanos());
    store.cleanUp();
    assertThat(store.get(s.id())).isNull();
    assertThat(stopped.get()).isEqualTo(ErrorKind.STREAM_EVICTED);
    assertThat(metrics.scrape()).contains("sluice_stream_sessions_evicted_total{cause=\"expired\",route=\"chat\"} 1.0");
  }

  @Test
  void anEndedSessionIsNotStoppedAgainAndDeletingStopsARunningOne() {
    StreamSession ended = session(10, 1000);
    AtomicInteger stops = new AtomicInteger();
    ended.generation(why -> stops.incrementAndGet());
    ended.end();
    store.remove(ended);
    assertThat(stops).hasValue(0);

    StreamSession running = session(10, 1000);
    AtomicReference<ErrorKind> why = new AtomicReference<>();
    running.generation(why::set);
    store.remove(running);
    assertThat(why.get()).isEqualTo(ErrorKind.STREAM_CANCELLED);
    assertThat(store.get(running.id())).isNull();
    assertThat(running.attach(() -> {})).as("a removed session takes no readers").isFalse();
  }

  @Test
  void theMemoryCapHoldsUnderAFloodOfAbandonedSessions() {
    StreamSessions small = new StreamSessions(256 * 1024, metrics, null, now::get, Scheduler.disabledScheduler(),
        Runnable::run);
    List<StreamSession> all = new ArrayList<>();
    AtomicInteger stopped = new AtomicInteger();
    byte[] chunk = event("x".repeat(1000));
    for (int i = 0; i < 2000; i++) {
      StreamSession s = small.create("ip:10.0.0." + (i % 250), "flood", 1024, 64 * 1024, Duration.ofMinutes(5));
      s.generation(why -> stopped.incrementAndGet());
      for (int seq = 1; seq <= 20; seq++) {
        s.append(seq, chunk);
      }
      all.add(s);
    }
    small.cleanUp();
    assertThat(small.weightedBytes()).isLessThanOrEqualTo(256 * 1024);
    assertThat(small.size()).isLessThan(20);
    assertThat(stopped.get()).isGreaterThan(1900);
    assertThat(metrics.scrape()).contains("sluice_stream_sessions_evicted_total{cause=\"size\",route=\"flood\"}");
  }

  @Test
  void stampingReplacesTheUpstreamIdAndKeepsEverythingElseByteForByte() {
    byte[] out = SessionEvents.stamp(Unpooled.copiedBuffer("event: delta\r\nid: 7\r\ndata: a\r\nidle: x\r\n\r\n",
        StandardCharsets.UTF_8), "f".repeat(32), 12);
    assertThat(new String(out, StandardCharsets.UTF_8))
        .isEqualTo("id: " + "f".repeat(32) + ".12\nevent: delta\r\ndata: a\r\nidle: x\r\n\r\n");
    byte[] bare = SessionEvents.stamp(Unpooled.copiedBuffer("data: b\nid\n\n", StandardCharsets.UTF_8), "a".repeat(32), 1);
    assertThat(new String(bare, StandardCharsets.UTF_8)).isEqualTo("id: " + "a".repeat(32) + ".1\ndata: b\n\n");
  }

  @Test
  void onlyOurOwnLastEventIdsArePositions() {
    String id = "0123456789abcdef0123456789abcdef";
    assertThat(SessionEvents.position(id + ".42")).isEqualTo(new SessionEvents.Position(id, 42));
    assertThat(SessionEvents.position(" " + id + ".0 ")).isEqualTo(new SessionEvents.Position(id, 0));
    assertThat(SessionEvents.position(id)).isNull();
    assertThat(SessionEvents.position(id + ".")).isNull();
    assertThat(SessionEvents.position(id + ".-1")).isNull();
    assertThat(SessionEvents.position(id.toUpperCase() + ".1")).isNull();
    assertThat(SessionEvents.position(id + "." + "9".repeat(19))).isNull();
    assertThat(SessionEvents.position("chatcmpl-123")).isNull();
    assertThat(SessionEvents.position(null)).isNull();
  }
}
