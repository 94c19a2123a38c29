package io.sluice.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.sluice.exchange.Exchange;
import io.sluice.usage.Usage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The end gate on an {@link EmbeddedChannel}: the tail of a response waits for the usage hook's
 * stage, the rest of the stream does not.
 */
class EndGateTest {
  private static final Usage USED = new Usage(10, 40, 0, 0, "m", false);
  private final EmbeddedChannel channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
  private final Exchange exchange = new Exchange("0123456789abcdef0123456789abcdef", "10.0.0.7", "POST", "/", 0);
  private final CompletableFuture<Void> settled = new CompletableFuture<>();
  private final AtomicReference<Usage> told = new AtomicReference<>();
  private final AtomicInteger written = new AtomicInteger();

  @AfterEach
  void stop() {
    channel.finishAndReleaseAll();
  }

  private EventWriter writer() {
    ChannelHandlerContext ctx = channel.pipeline().firstContext();
    return new EventWriter(ctx, exchange, false, false, false, () -> { });
  }

  private EndGate gate(EventWriter writer) {
    return new EndGate(u -> {
      told.set(u);
      return settled;
    }, channel.eventLoop(), writer);
  }

  private static ByteBuf text(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
  }

  private List<String> chunks() {
    List<String> out = new ArrayList<>();
    for (Object msg; (msg = channel.readOutbound()) != null; ) {
      HttpContent content = (HttpContent) msg;
      out.add((content instanceof LastHttpContent ? "<end>" : "") + content.content().toString(StandardCharsets.UTF_8));
      content.release();
    }
    return out;
  }

  @Test
  void theTerminalEventWaitsUntilTheUsageIsSettled() {
    EventWriter writer = writer();
    EndGate gate = gate(writer);
    gate.write(text("data: a\n\n"));
    writer.flush();
    assertThat(chunks()).as("content before the end flows at once").containsExactly("data: a\n\n");
    gate.hold();
    gate.write(text("data: {\"choices\":[],\"usage\":{}}\n\n"));
    gate.write(text("data: [DONE]\n\n"));
    writer.flush();
    gate.end(() -> USED, written::incrementAndGet);
    channel.runPendingTasks();
    assertThat(told.get()).isEqualTo(USED);
    assertThat(chunks()).as("nothing of the tail before the usage is settled").isEmpty();
    assertThat(written).hasValue(0);

    settled.complete(null);
    channel.runPendingTasks();
    assertThat(chunks()).containsExactly("data: {\"choices\":[],\"usage\":{}}\n\n", "data: [DONE]\n\n", "<end>");
    assertThat(written).hasValue(1);
  }

  @Test
  void aJsonBodysLastChunkWaitsForTheSettlement() {
    EventWriter writer = writer();
    EndGate gate = gate(writer);
    gate.writeKeepingLast(text("{\"a\":"));
    gate.writeKeepingLast(text("1}"));
    writer.flush();
    assertThat(chunks()).containsExactly("{\"a\":");
    gate.end(() -> USED, written::incrementAndGet);
    channel.runPendingTasks();
    assertThat(chunks()).isEmpty();
    settled.complete(null);
    channel.runPendingTasks();
    assertThat(chunks()).containsExactly("1}", "<end>");
  }

  @Test
  void aFailedSettlementStillEndsTheResponse() {
    EventWriter writer = writer();
    EndGate gate = gate(writer);
    gate.hold();
    gate.write(text("data: [DONE]\n\n"));
    gate.end(() -> USED, written::incrementAndGet);
    settled.completeExceptionally(new IllegalStateException("store down"));
    channel.runPendingTasks();
    assertThat(chunks()).containsExactly("data: [DONE]\n\n", "<end>");
  }

  @Test
  void anExchangeThatEndsWhileWaitingReleasesTheTail() {
    EventWriter writer = writer();
    EndGate gate = gate(writer);
    gate.hold();
    ByteBuf done = text("data: [DONE]\n\n");
    gate.write(done);
    gate.end(() -> USED, written::incrementAndGet);
    gate.drop(); // the client left
    assertThat(done.refCnt()).isZero();
    settled.complete(null);
    channel.runPendingTasks();
    assertThat(chunks()).isEmpty();
    assertThat(written).hasValue(0);
  }

  @Test
  void anUpstreamThatGoesOnPastItsEndIsNoLongerHeld() {
    EventWriter writer = writer();
    EndGate gate = gate(writer);
    gate.hold();
    gate.write(text("x".repeat(EndGate.MAX_HELD + 1)));
    writer.flush();
    assertThat(chunks()).hasSize(1);
  }
}
