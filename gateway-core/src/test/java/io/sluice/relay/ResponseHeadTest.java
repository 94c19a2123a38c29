package io.sluice.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.sluice.config.HeaderOps;
import io.sluice.config.SseConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The client's response head made from the upstream's: pass-through rules, SSE, gzip, framing. */
class ResponseHeadTest {
  private static final String ID = "0123456789abcdef0123456789abcdef";

  private static ForwardRequest request(HttpMethod method, HttpVersion clientVersion, boolean keepAlive,
      HeaderOps routeOps, long gzipMinSize) {
    return new ForwardRequest(method, "/v1/chat/completions", new DefaultHttpHeaders(), Unpooled.EMPTY_BUFFER,
        keepAlive, clientVersion, routeOps, SseConfig.DEFAULTS, null, null, null, gzipMinSize);
  }

  private static ForwardRequest post(long gzipMinSize) {
    return request(HttpMethod.POST, HttpVersion.HTTP_1_1, true, HeaderOps.NONE, gzipMinSize);
  }

  private static HttpResponse upstream(int status, String contentType, Long contentLength) {
    HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
    if (contentType != null) {
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
    }
    if (contentLength != null) {
      HttpUtil.setContentLength(response, contentLength);
    } else {
      HttpUtil.setTransferEncodingChunked(response, true);
    }
    return response;
  }

  @Test
  void anEventStreamIsMarkedUncachedAndUnbufferedAndChunked() {
    ResponseHead head = ResponseHead.of(upstream(200, "text/event-stream; charset=utf-8", null), post(-1), ID);
    assertThat(head.sse()).isTrue();
    assertThat(head.chunked()).isTrue();
    assertThat(head.keepAlive()).isTrue();
    assertThat(head.json()).isFalse();
    assertThat(head.head().headers().get(HttpHeaderNames.CACHE_CONTROL)).isEqualTo("no-cache");
    assertThat(head.head().headers().get("X-Accel-Buffering")).isEqualTo("no");
    assertThat(head.head().headers().get("X-Request-Id")).isEqualTo(ID);
  }

  @Test
  void hopByHopHeadersStayAndTheRoutesChangesApply() {
    HttpResponse answer = upstream(200, "application/json", 10L);
    answer.headers().set(HttpHeaderNames.CONNECTION, "keep-alive, X-Private");
    answer.headers().set("X-Private", "secret");
    answer.headers().set("Server", "vllm");
    answer.headers().set("X-Request-Id", "upstream's own");
    HeaderOps ops = new HeaderOps(Map.of("X-Served-By", "sluice"), List.of("Server"));
    ResponseHead head = ResponseHead.of(answer, request(HttpMethod.POST, HttpVersion.HTTP_1_1, true, ops, -1), ID);
    assertThat(head.head().headers().contains("X-Private")).as("named by Connection").isFalse();
    assertThat(head.head().headers().contains("Server")).isFalse();
    assertThat(head.head().headers().get("X-Served-By")).isEqualTo("sluice");
    assertThat(head.head().headers().get("X-Request-Id")).isEqualTo(ID);
    assertThat(head.json()).as("a JSON answer is kept for its usage").isTrue();
    assertThat(head.chunked()).isFalse();
    assertThat(head.head().headers().get(HttpHeaderNames.CONTENT_LENGTH)).isEqualTo("10");
  }

  @Test
  void theUpstreamsHeadKeepsOnlyItsFramingOnceTheClientsIsMadeWhileTheClientsKeepsEverything() {
    HttpResponse chunked = upstream(200, "text/event-stream", null);
    chunked.headers().set("X-Ratelimit-Remaining", "99").add("Set-Cookie", "a=1").add("Set-Cookie", "b=2");
    ResponseHead head = ResponseHead.of(chunked, post(-1), ID);
    ResponseHead.dropCopied(chunked.headers());
    assertThat(chunked.headers().names()).containsExactly(HttpHeaderNames.TRANSFER_ENCODING.toString());
    assertThat(HttpUtil.isTransferEncodingChunked(chunked)).isTrue();
    assertThat(head.head().headers().get("X-Ratelimit-Remaining")).isEqualTo("99");
    assertThat(head.head().headers().getAll("Set-Cookie")).containsExactly("a=1", "b=2");

    HttpResponse sized = upstream(200, "application/json", 10L);
    ResponseHead.dropCopied(sized.headers());
    assertThat(sized.headers().names()).containsExactly(HttpHeaderNames.CONTENT_LENGTH.toString());
    assertThat(HttpUtil.getContentLength(sized, -1L)).isEqualTo(10L);
  }

  @Test
  void gzipIsChosenForStreamsAndForBodiesOfUnknownOrLargeEnoughLength() {
    assertThat(ResponseHead.of(upstream(200, "text/event-stream", null), post(1024), ID).gzip()).isTrue();
    assertThat(ResponseHead.of(upstream(200, "application/json", null), post(1024), ID).gzip()).isTrue();
    assertThat(ResponseHead.of(upstream(200, "application/json", 2048L), post(1024), ID).gzip()).isTrue();
    ResponseHead small = ResponseHead.of(upstream(200, "application/json", 100L), post(1024), ID);
    assertThat(small.gzip()).isFalse();
    ResponseHead large = ResponseHead.of(upstream(200, "application/json", 2048L), post(1024), ID);
    assertThat(large.head().headers().get(HttpHeaderNames.CONTENT_ENCODING)).isEqualTo("gzip");
    assertThat(large.head().headers().contains(HttpHeaderNames.CONTENT_LENGTH)).as("unknown once gzipped").isFalse();
    assertThat(large.head().headers().get(HttpHeaderNames.VARY)).isEqualTo("accept-encoding");
    assertThat(large.chunked()).isTrue();
  }

  @Test
  void gzipIsNeverChosenWhenTheClientOrRouteDoesNotWantItOrTheBodyIsEncodedOrAbsent() {
    assertThat(ResponseHead.of(upstream(200, "text/event-stream", null), post(-1), ID).gzip()).isFalse();
    HttpResponse encoded = upstream(200, "application/json", null);
    encoded.headers().set(HttpHeaderNames.CONTENT_ENCODING, "br");
    assertThat(ResponseHead.of(encoded, post(0), ID).gzip()).isFalse();
    assertThat(ResponseHead.of(upstream(204, null, 0L), post(0), ID).gzip()).isFalse();
    ForwardRequest head = request(HttpMethod.HEAD, HttpVersion.HTTP_1_1, true, HeaderOps.NONE, 0);
    assertThat(ResponseHead.of(upstream(200, "application/json", null), head, ID).gzip()).isFalse();
  }

  @Test
  void anHttp10ClientReadsABodyOfUnknownLengthToTheConnectionsEnd() {
    ForwardRequest old = request(HttpMethod.POST, HttpVersion.HTTP_1_0, true, HeaderOps.NONE, -1);
    ResponseHead head = ResponseHead.of(upstream(200, "text/event-stream", null), old, ID);
    assertThat(head.chunked()).isFalse();
    assertThat(head.keepAlive()).isFalse();
    assertThat(HttpUtil.isTransferEncodingChunked(head.head())).isFalse();
  }

  @Test
  void onlyA2xxJsonAnswerIsKeptForItsUsage() {
    assertThat(ResponseHead.of(upstream(429, "application/json", 50L), post(-1), ID).json()).isFalse();
    assertThat(ResponseHead.of(upstream(200, "text/plain", 50L), post(-1), ID).json()).isFalse();
  }

  @Test
  void theMediaTypeIsComparedWithoutCaseParametersOrSurroundingBlanks() {
    assertThat(ResponseHead.contentTypeIs("text/event-stream", "text/event-stream")).isTrue();
    assertThat(ResponseHead.contentTypeIs("Text/Event-Stream; charset=utf-8", "text/event-stream")).isTrue();
    assertThat(ResponseHead.contentTypeIs(" \ttext/event-stream \t;x=y", "text/event-stream")).isTrue();
    assertThat(ResponseHead.contentTypeIs("text/event-stream;", "text/event-stream")).isTrue();
    assertThat(ResponseHead.contentTypeIs("text/event-streams", "text/event-stream")).isFalse();
    assertThat(ResponseHead.contentTypeIs("text/event-stre", "text/event-stream")).isFalse();
    assertThat(ResponseHead.contentTypeIs("text/event - stream", "text/event-stream")).isFalse();
    assertThat(ResponseHead.contentTypeIs("application/json+x; text/event-stream", "text/event-stream")).isFalse();
    assertThat(ResponseHead.contentTypeIs("", "text/event-stream")).isFalse();
    assertThat(ResponseHead.contentTypeIs(" ; ", "application/json")).isFalse();
    assertThat(ResponseHead.contentTypeIs(null, "application/json")).isFalse();
  }
}
