package io.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.http.ProxyHeaders;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The connection's three timeouts on one timer, on an {@link EmbeddedChannel} whose loop clock is
 * frozen and moved by the test (the handler reads the loop's ticker): header 10 s, body 20 s,
 * idle 60 s unless a test says otherwise. The request handler's part ({@link RequestCycle}) is
 * played by the test.
 */
class ClientTimeoutHandlerTest {
  private final List<Object> events = new ArrayList<>();
  private ClientTimeoutHandler handler;
  private EmbeddedChannel ch;

  private void open(long headerSeconds, long bodySeconds, long idleSeconds) {
    handler = new ClientTimeoutHandler(Duration.ofSeconds(headerSeconds), Duration.ofSeconds(bodySeconds),
        Duration.ofSeconds(idleSeconds));
    ch = new EmbeddedChannel();
    ch.freezeTime(); // the loop's timers and clock move only with advance()
    ch.pipeline().addLast(handler, new ChannelInboundHandlerAdapter() {
      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        events.add(evt);
      }

      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
      }
    });
  }

  private void open() {
    open(10, 20, 60);
  }

  @AfterEach
  void close() {
    if (ch != null) {
      ch.finishAndReleaseAll();
    }
  }

  private void advance(long seconds) {
    ch.advanceTimeBy(seconds, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
  }

  private void bytes() {
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {'P'}));
  }

  /** What the request handler tells: a request head arrived and its exchange began. */
  private void request(boolean withBody) {
    HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions");
    HttpUtil.setContentLength(head, withBody ? 10 : 0);
    handler.read(head);
    handler.headersReceived();
  }

  private void bodyEnds() {
    handler.read(LastHttpContent.EMPTY_LAST_CONTENT);
  }

  private FullHttpResponse answer() {
    return ch.readOutbound();
  }

  // ---- request-header-timeout -------------------------------------------------------------------

  @Test
  void headersNotCompleteInTimeAreAnswered408AndTheConnectionClosed() {
    open();
    advance(9);
    assertThat((Object) ch.readOutbound()).isNull();
    advance(1);
    FullHttpResponse response = answer();
    assertThat(response.status().code()).isEqualTo(408);
    assertThat(response.headers().get(ProxyHeaders.X_REQUEST_ID)).isNotBlank();
    assertThat(HttpUtil.isKeepAlive(response)).isFalse();
    assertThat(response.content().toString(StandardCharsets.UTF_8))
        .contains("\"code\":\"request_timeout\"").contains("within 10000ms");
    response.release();
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void headersInTimeStopTheHeaderClock() {
    open();
    advance(5);
    request(false);
    bodyEnds();
    advance(50);
    assertThat((Object) ch.readOutbound()).as("the exchange runs: no 408").isNull();
    assertThat(ch.isOpen()).isTrue();
  }

  @Test
  void aKeptAliveConnectionsNextHeaderClockStartsAtItsFirstByte() {
    open();
    request(false);
    bodyEnds();
    handler.responseEnded();
    advance(30);
    assertThat((Object) ch.readOutbound()).as("idle between requests: left to the idle timeout").isNull();
    bytes();
    advance(9);
    assertThat((Object) ch.readOutbound()).isNull();
    advance(1);
    FullHttpResponse response = answer();
    assertThat(response.status().code()).isEqualTo(408);
    response.release();
  }

  @Test
  void anHttp2ConnectionHasNoHeaderPhase() {
    open();
    handler.http2();
    advance(30);
    assertThat((Object) ch.readOutbound()).isNull();
    assertThat(ch.isOpen()).isTrue();
    advance(30);
    assertThat(events).as("the idle timeout stays").containsExactly(IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT);
  }

  // ---- request-body-timeout ---------------------------------------------------------------------

  @Test
  void aBodyNotCompleteInTimeIsTold() {
    open();
    request(true);
    ch.writeInbound(new DefaultHttpContent(Unpooled.copiedBuffer("01", StandardCharsets.UTF_8)));
    advance(19);
    assertThat(events).isEmpty();
    advance(1);
    assertThat(events).containsExactly(new ClientTimeoutHandler.BodyExpired(Duration.ofSeconds(20)));
    advance(20);
    assertThat(events).as("told once").hasSize(1);
  }

  @Test
  void aBodyThatEndsInTimeIsNotTold() {
    open();
    request(true);
    advance(15);
    bodyEnds();
    advance(30);
    assertThat(events).isEmpty();
  }

  @Test
  void noBodyNoBodyClockAndAFailedRequestHasNone() {
    open();
    request(false);
    HttpRequest chunkedButBroken = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/");
    HttpUtil.setTransferEncodingChunked(chunkedButBroken, true);
    chunkedButBroken.setDecoderResult(DecoderResult.failure(new IllegalStateException()));
    handler.read(chunkedButBroken);
    handler.read(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/",
        Unpooled.EMPTY_BUFFER)); // a whole request in one message: nothing left to wait for
    advance(59);
    assertThat(events).isEmpty();
  }

  @Test
  void theBodyClockIsPushedOnWhileTheConnectionIsNotRead() {
    open();
    request(true);
    ch.config().setAutoRead(false); // a pipelined request waits for the current response
    advance(20);
    assertThat(events).isEmpty();
    ch.config().setAutoRead(true);
    advance(19);
    assertThat(events).isEmpty();
    advance(1);
    assertThat(events).containsExactly(new ClientTimeoutHandler.BodyExpired(Duration.ofSeconds(20)));
  }

  // ---- idle-timeout -----------------------------------------------------------------------------

  @Test
  void idleFiresOnceTheConnectionWasSilentForTheWholeTimeoutThenEveryTimeout() {
    open();
    request(false); // in an exchange: no header clock
    bodyEnds();
    advance(59);
    assertThat(events).isEmpty();
    advance(1);
    assertThat(events).containsExactly(IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT);
    advance(60);
    assertThat(events).containsExactly(IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT, IdleStateEvent.ALL_IDLE_STATE_EVENT);
  }

  @Test
  void bytesReadAndFlushesPushTheIdleDeadlineOn() {
    open();
    request(false);
    advance(40);
    bytes();
    advance(40);
    ch.writeOutbound(Unpooled.wrappedBuffer(new byte[] {1}));
    ReferenceCountUtil.release(ch.readOutbound());
    advance(59);
    assertThat(events).isEmpty();
    advance(1);
    assertThat(events).containsExactly(IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT);
    bytes();
    advance(60);
    assertThat(events).as("activity starts a new idle period")
        .containsExactly(IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT, IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT);
  }

  // ---- one timer --------------------------------------------------------------------------------

  @Test
  void requestsOnAKeptAliveConnectionScheduleNoTimer() {
    open();
    ScheduledFuture<?> armed = handler.armedTimer();
    assertThat((Object) armed).isNotNull();
    for (int i = 0; i < 50; i++) {
      bytes();
      request(true);
      bodyEnds();
      handler.responseEnded();
    }
    assertThat((Object) handler.armedTimer()).as("the same timer, never cancelled").isSameAs(armed);
    assertThat(armed.isCancelled()).isFalse();
  }

  @Test
  void aDeadlineEarlierThanTheArmedTimerMovesIt() {
    open();
    request(false);
    bodyEnds();
    advance(10); // in an exchange: the timer is re-armed for the idle timeout (60 s)
    ScheduledFuture<?> armed = handler.armedTimer();
    HttpRequest pipelined = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions");
    HttpUtil.setContentLength(pipelined, 10);
    handler.read(pipelined); // its body is due at 30 s
    assertThat((Object) handler.armedTimer()).isNotSameAs(armed);
    assertThat(armed.isCancelled()).isTrue();
    advance(19);
    assertThat(events).isEmpty();
    advance(1);
    assertThat(events).containsExactly(new ClientTimeoutHandler.BodyExpired(Duration.ofSeconds(20)));
  }

  @Test
  void aWaitingConnectionsTimerFiresAtLeastEveryShortestRequestTimeout() {
    open();
    request(false);
    bodyEnds();
    handler.responseEnded();
    advance(10);
    ScheduledFuture<?> armed = handler.armedTimer();
    advance(3);
    bytes(); // header due 10 s from now: not earlier than the armed timer
    assertThat((Object) handler.armedTimer()).isSameAs(armed);
    advance(9);
    assertThat((Object) ch.readOutbound()).isNull();
    advance(1);
    FullHttpResponse response = answer();
    assertThat(response.status().code()).isEqualTo(408);
    response.release();
  }

  @Test
  void severalDeadlinesDueAtOnceGiveOneAnswerTheHeaderTimeouts() {
    open(10, 20, 10); // header and idle both due at 10 s
    ch.advanceTimeBy(30, TimeUnit.SECONDS); // the loop was late: everything is due
    ch.runScheduledPendingTasks();
    FullHttpResponse response = answer();
    assertThat(response.status().code()).isEqualTo(408);
    response.release();
    assertThat(events).as("no idle close racing the 408").isEmpty();
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void aBodyAndIdleDueAtOnceTellTheBodyFirstThenIdleOnTheNextTurn() {
    open(10, 20, 20);
    request(true);
    ch.advanceTimeBy(25, TimeUnit.SECONDS); // the loop was late: both are due
    ch.runScheduledPendingTasks();
    assertThat(events).containsExactly(new ClientTimeoutHandler.BodyExpired(Duration.ofSeconds(20)),
        IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT);
  }

  @Test
  void aClosedConnectionLeavesNoTimerAndFiresNothing() {
    open();
    request(true);
    ScheduledFuture<?> armed = handler.armedTimer();
    ch.close();
    assertThat(armed.isCancelled()).isTrue();
    assertThat(ch.runScheduledPendingTasks()).as("no timer pending").isEqualTo(-1);
    handler.responseEnded(); // late calls from the request handler arm nothing
    HttpRequest late = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions");
    HttpUtil.setContentLength(late, 10);
    handler.read(late);
    assertThat(ch.runScheduledPendingTasks()).isEqualTo(-1);
    advance(120);
    assertThat(events).isEmpty();
    assertThat((Object) ch.readOutbound()).isNull();
  }

  @Test
  void aRemovedHandlerLeavesNoTimerBehind() {
    open();
    request(true);
    ch.pipeline().remove(handler); // as a WebSocket upgrade does: the session's own timer takes over
    assertThat(ch.runScheduledPendingTasks()).as("no timer pending").isEqualTo(-1);
    assertThat(RequestCycle.of(ch)).isSameAs(RequestCycle.NONE);
    handler.read(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/", false));
    advance(120);
    assertThat(events).isEmpty();
  }

  @Test
  void theHandlerIsTheChannelsRequestCycle() {
    open();
    assertThat(RequestCycle.of(ch)).isSameAs(handler);
    EmbeddedChannel bare = new EmbeddedChannel();
    assertThat(RequestCycle.of(bare)).isSameAs(RequestCycle.NONE);
    bare.finishAndReleaseAll();
  }
}
