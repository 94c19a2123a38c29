package io.sluice.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The request body as gathered: the one chunk itself, or a composite of several; references exact. */
class IncomingRequestTest {
  private static IncomingRequest request() {
    return new IncomingRequest(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat"), "/v1/chat",
        "", ByteBufAllocator.DEFAULT);
  }

  private static ByteBuf chunk(String text) {
    ByteBuf direct = ByteBufAllocator.DEFAULT.directBuffer();
    direct.writeCharSequence(text, StandardCharsets.UTF_8);
    return direct;
  }

  @Test
  void aBodyInOneChunkIsThatChunkWithAReferenceOfItsOwn() {
    IncomingRequest request = request();
    assertThat(request.bodyBytes()).isZero();
    ByteBuf first = chunk("{\"model\":\"m\"}");
    request.append(first);
    first.release(); // the decoder's reference goes; the request keeps its own
    assertThat(request.body().toString(StandardCharsets.UTF_8)).isEqualTo("{\"model\":\"m\"}");
    assertThat(request.bodyBytes()).isEqualTo(13);
    assertThat(first.refCnt()).isEqualTo(1);
    request.release();
    assertThat(first.refCnt()).isZero();
  }

  @Test
  void aBodyInSeveralChunksIsGatheredInOrderAndReleasedWhole() {
    IncomingRequest request = request();
    ByteBuf a = chunk("{\"model\":");
    ByteBuf b = chunk("\"m\",");
    ByteBuf c = chunk("\"stream\":true}");
    for (ByteBuf part : new ByteBuf[] {a, b, c}) {
      request.append(part);
      part.release();
    }
    assertThat(request.body().toString(StandardCharsets.UTF_8)).isEqualTo("{\"model\":\"m\",\"stream\":true}");
    assertThat(request.fits(0, 27)).isTrue();
    assertThat(request.fits(1, 27)).isFalse();
    request.release();
    assertThat(a.refCnt()).isZero();
    assertThat(b.refCnt()).isZero();
    assertThat(c.refCnt()).isZero();
  }

  @Test
  void aFirstChunkThatIsItselfACompositeIsNeverAddedTo() {
    IncomingRequest request = request();
    CompositeByteBuf first = Unpooled.compositeBuffer();
    first.addComponent(true, chunk("ab"));
    request.append(first);
    request.append(Unpooled.copiedBuffer("cd", StandardCharsets.UTF_8));
    assertThat(first.numComponents()).isEqualTo(1); // the sender's buffer is as it was
    assertThat(request.body().toString(StandardCharsets.UTF_8)).isEqualTo("abcd");
    request.release();
    assertThat(first.refCnt()).isEqualTo(1);
    first.release();
  }

  @Test
  void aRewriteReplacesTheBodyAndReleasesTheChunk() {
    IncomingRequest request = request();
    ByteBuf first = chunk("{}");
    request.append(first);
    first.release();
    request.replaceBody(Unpooled.copiedBuffer("{\"x\":1}", StandardCharsets.UTF_8));
    assertThat(first.refCnt()).isZero();
    assertThat(request.body().toString(StandardCharsets.UTF_8)).isEqualTo("{\"x\":1}");
    request.release();
  }
}
