package io.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** RFC 8441 requests on one HTTP/2 stream channel, frame by frame. */
class ExtendedConnectHandlerTest {

  private static EmbeddedChannel stream() {
    return new EmbeddedChannel(new ExtendedConnectHandler());
  }

  private static Http2Headers connect(String protocol) {
    Http2Headers h = new DefaultHttp2Headers().method("CONNECT").scheme("https").authority("gw.example")
        .path("/v1/realtime?model=m");
    if (protocol != null) {
      h.set(Http2Headers.PseudoHeaderName.PROTOCOL.value(), protocol);
    }
    return h.set("sec-websocket-version", "13");
  }

  private static ByteBuf text(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
  }

  @Test
  void presentsAWebSocketConnectAsABodylessGetOfItsPath() {
    EmbeddedChannel ch = stream();
    ch.writeInbound(new DefaultHttp2HeadersFrame(connect("websocket"), false));
    Http2HeadersFrame seen = ch.readInbound();
    assertThat(seen.isEndStream()).as("the exchange must not wait for a body").isTrue();
    assertThat(seen.headers().method().toString()).isEqualTo("GET");
    assertThat(seen.headers().path().toString()).isEqualTo("/v1/realtime?model=m");
    assertThat(seen.headers().authority().toString()).isEqualTo("gw.example");
    assertThat(seen.headers().contains(Http2Headers.PseudoHeaderName.PROTOCOL.value())).isFalse();
    assertThat(seen.headers().get("sec-websocket-version").toString()).isEqualTo("13");
    assertThat(ExtendedConnectHandler.isWebSocket(ch)).isTrue();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @ParameterizedTest(name = "{0} :protocol={1}")
  @CsvSource(value = {"POST, null", "CONNECT, null", "CONNECT, connect-udp", "GET, websocket"}, nullValues = "null")
  void letsEveryOtherRequestThroughUntouchedAndLeaves(String method, String protocol) {
    EmbeddedChannel ch = stream();
    Http2Headers headers = connect(protocol).method(method);
    DefaultHttp2HeadersFrame frame = new DefaultHttp2HeadersFrame(headers, false);
    ch.writeInbound(frame);
    assertThat((Object) ch.readInbound()).isSameAs(frame);
    assertThat(ch.pipeline().get(ExtendedConnectHandler.class)).as("nothing left on the stream's path").isNull();
    assertThat(ExtendedConnectHandler.isWebSocket(ch)).isFalse();
    ch.finishAndReleaseAll();
  }

  @Test
  void holdsDataSentBeforeTheSessionOpenedAndHandsItOnAsBytes() {
    EmbeddedChannel ch = stream();
    ch.writeInbound(new DefaultHttp2HeadersFrame(connect("websocket"), false));
    ((Http2HeadersFrame) ch.readInbound()).headers();
    ch.writeInbound(new DefaultHttp2DataFrame(text("early-1"), false), new DefaultHttp2DataFrame(text("early-2"), false));
    assertThat((Object) ch.readInbound()).as("held until the frame decoder is in place").isNull();

    ExtendedConnectHandler.streamBytes(ch.pipeline());
    ExtendedConnectHandler.releaseEarlyData(ch.pipeline());
    ch.writeInbound(new DefaultHttp2DataFrame(text("live"), false));
    for (String expected : new String[] {"early-1", "early-2", "live"}) {
      ByteBuf b = ch.readInbound();
      assertThat(b.toString(StandardCharsets.UTF_8)).isEqualTo(expected);
      b.release();
    }
    assertThat((Object) ch.readInbound()).isNull();
    ch.finishAndReleaseAll(); // closing writes END_STREAM: see carriesBytesInDataFrames…
  }

  @Test
  void resetsAStreamThatSendsTooMuchBeforeItsAnswer() {
    EmbeddedChannel ch = stream();
    ch.writeInbound(new DefaultHttp2HeadersFrame(connect("websocket"), false));
    ch.<Http2HeadersFrame>readInbound();
    ch.writeInbound(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(new byte[ExtendedConnectHandler.EARLY_DATA_LIMIT]), false));
    assertThat(ch.isActive()).isTrue();
    ch.writeInbound(new DefaultHttp2DataFrame(text("one byte too many"), false));
    Http2ResetFrame reset = ch.readOutbound();
    assertThat(reset.errorCode()).isEqualTo(Http2Error.ENHANCE_YOUR_CALM.code());
    assertThat(ch.isActive()).isFalse();
    ch.finishAndReleaseAll();
  }

  @Test
  void carriesBytesInDataFramesAndEndsTheStreamBeforeClosingIt() {
    EmbeddedChannel ch = stream();
    ch.writeInbound(new DefaultHttp2HeadersFrame(connect("websocket"), false));
    ch.<Http2HeadersFrame>readInbound();
    ExtendedConnectHandler.streamBytes(ch.pipeline());

    ch.writeOutbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200"), false));
    ch.writeOutbound(text("frame"), Unpooled.EMPTY_BUFFER);
    assertThat(ch.<Http2HeadersFrame>readOutbound().isEndStream()).isFalse();
    Http2DataFrame data = ch.readOutbound();
    assertThat(data.content().toString(StandardCharsets.UTF_8)).isEqualTo("frame");
    assertThat(data.isEndStream()).isFalse();
    data.release();
    assertThat((Object) ch.readOutbound()).as("an empty write sends no frame").isNull();

    ch.close();
    Http2DataFrame end = ch.readOutbound();
    assertThat(end.isEndStream()).isTrue();
    assertThat(end.content().isReadable()).isFalse();
    assertThat(ch.isOpen()).isFalse();
    ch.finishAndReleaseAll();
  }

  @Test
  void takesTheClientsEndStreamAsItsFin() {
    EmbeddedChannel ch = stream();
    ch.writeInbound(new DefaultHttp2HeadersFrame(connect("websocket"), false));
    ch.<Http2HeadersFrame>readInbound();
    ExtendedConnectHandler.streamBytes(ch.pipeline());
    ch.writeInbound(new DefaultHttp2DataFrame(text("last"), true));
    ByteBuf last = ch.readInbound();
    assertThat(last.toString(StandardCharsets.UTF_8)).isEqualTo("last");
    last.release();
    assertThat(ch.isOpen()).isFalse();
    ch.finishAndReleaseAll();
  }
}
