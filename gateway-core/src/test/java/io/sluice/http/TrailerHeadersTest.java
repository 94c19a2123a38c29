package io.sluice.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The decoders' trailer sets: smaller, yet decoded and refused exactly as Netty's default ones. */
class TrailerHeadersTest {

  /** What a server codec makes of these bytes: each message's class and, for the last chunk, its trailers. */
  private static List<String> decode(boolean small, String raw) {
    HttpDecoderConfig config = new HttpDecoderConfig();
    if (small) {
      config.setTrailersFactory(TrailerHeaders.INSTANCE);
    }
    EmbeddedChannel ch = new EmbeddedChannel(new HttpServerCodec(config));
    ch.writeInbound(Unpooled.copiedBuffer(raw, StandardCharsets.ISO_8859_1));
    List<String> seen = new ArrayList<>();
    for (Object msg; (msg = ch.readInbound()) != null; ) {
      if (msg instanceof HttpRequest head) {
        seen.add("head " + head.decoderResult());
      }
      if (msg instanceof HttpContent content) {
        seen.add("content " + content.content().toString(StandardCharsets.ISO_8859_1) + " " + content.decoderResult());
      }
      if (msg instanceof LastHttpContent last) {
        seen.add("trailers " + last.trailingHeaders().entries());
      }
      ReferenceCountUtil.release(msg);
    }
    ch.finishAndReleaseAll();
    return seen;
  }

  @ParameterizedTest
  @ValueSource(strings = {
      // a body of known length: its last chunk brings an empty trailer set of this factory's
      "POST /v1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
      // chunked with trailers, several sharing the two buckets, one repeated
      "POST /v1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
          + "X-Checksum: abc\r\nX-One: 1\r\nX-Two: 2\r\nX-One: 3\r\nX-Three: 3\r\n\r\n",
      // a trailer Netty refuses (framing in trailers), and one with a bad name
      "POST /v1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nContent-Length: 9\r\n\r\n",
      "POST /v1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nBad Name: 9\r\n\r\n",
  })
  void decodesAndRefusesTrailersAsNettysDefaultDoes(String raw) {
    assertThat(decode(true, raw)).isEqualTo(decode(false, raw)).isNotEmpty();
  }

  @Test
  void keepsEveryTrailerInOrder() {
    assertThat(decode(true, "POST /v1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        + "X-One: 1\r\nX-Two: 2\r\nX-One: 3\r\nX-Three: 3\r\n\r\n"))
        .last().asString().isEqualTo("trailers [X-One=1, X-Two=2, X-One=3, X-Three=3]");
  }

  @Test
  void aNewSetIsEmptyAndTakesHeaders() {
    var h = TrailerHeaders.INSTANCE.newHeaders();
    assertThat(h.isEmpty()).isTrue();
    h.add("a", "1").add("b", "2").add("c", "3").add("A", "4");
    assertThat(h.getAll("a")).containsExactly("1", "4");
    assertThat(h.size()).isEqualTo(4);
    assertThat(h.contains("C")).isTrue();
  }
}
