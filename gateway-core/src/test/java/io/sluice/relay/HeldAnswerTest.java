package io.sluice.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.sse.SseEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The failover hold on its own: what is kept, the limit, the rejection, the order things go out in
 * when the gate opens, and the references it owns.
 */
class HeldAnswerTest {
  private final List<String> out = new ArrayList<>();
  private final HeldAnswer.Outlet outlet = new HeldAnswer.Outlet() {
    @Override
    public void heldEvent(ByteBuf event, SseEvent fields) {
      out.add("event " + fields.event() + " " + event.toString(StandardCharsets.UTF_8).strip());
      event.release();
    }

    @Override
    public void heldBody(ByteBuf chunk) {
      out.add("body " + chunk.toString(StandardCharsets.UTF_8));
      chunk.release();
    }
  };

  private static ByteBuf text(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
  }

  @Test
  void opensWithTheCommitThenWhatWasHeldInOrder() {
    HeldAnswer held = new HeldAnswer(() -> out.add("commit"), null);
    ByteBuf created = text("event: response.created\ndata: {}\n\n");
    ByteBuf progress = text("event: response.in_progress\ndata: {}\n\n");
    assertThat(held.hold(created, SseEvent.parse(created))).isTrue();
    assertThat(held.hold(progress, SseEvent.parse(progress))).isTrue();
    assertThat(out).isEmpty();

    held.open(outlet);

    assertThat(out).containsExactly("commit",
        "event response.created event: response.created\ndata: {}",
        "event response.in_progress event: response.in_progress\ndata: {}");
    assertThat(created.refCnt()).isZero();
    assertThat(progress.refCnt()).isZero();
  }

  @Test
  void keepsNothingPastTheLimit() {
    HeldAnswer held = new HeldAnswer(() -> out.add("commit"), null);
    ByteBuf first = text("x".repeat(HeldAnswer.MAX_HELD - 10));
    ByteBuf over = text("y".repeat(11));
    assertThat(held.hold(first, null)).isTrue();

    assertThat(held.hold(over, null)).isFalse(); // the caller opens the gate and passes it on

    assertThat(over.refCnt()).isEqualTo(1); // still the caller's
    over.release();
    held.release();
    assertThat(first.refCnt()).isZero();
  }

  @Test
  void anErrorEventBeforeContentRejectsTheAttempt() {
    HeldAnswer held = new HeldAnswer(() -> out.add("commit"), null);
    ByteBuf role = text("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n");
    ByteBuf error = text("data: {\"error\":{\"message\":\"overloaded\"}}\n\n");

    assertThat(held.rejects(SseEvent.parse(role))).isFalse();
    assertThat(held.rejected()).isNull();
    assertThat(held.rejects(SseEvent.parse(error))).isTrue();

    assertThat(held.rejected()).isEqualTo(FirstContent.ERROR_EVENT);
    assertThat(out).isEmpty();
    role.release();
    error.release();
  }

  @Test
  void aHeldBodyIsJudgedWholeAndReleasedWithTheExchange() {
    HeldAnswer held = new HeldAnswer(() -> out.add("commit"), null);
    ByteBuf part1 = text("{\"error\":{\"message\":");
    ByteBuf part2 = text("\"quota\"}}");
    held.hold(part1, null);
    held.hold(part2, null);

    assertThat(held.bodyFailure(false)).isEqualTo(FirstContent.ERROR_BODY);
    assertThat(held.bodyFailure(true)).isEqualTo(FirstContent.EMPTY_BODY);

    held.release();
    assertThat(part1.refCnt()).isZero();
    assertThat(part2.refCnt()).isZero();
    assertThat(out).isEmpty(); // never committed
  }
}
