package io.sluice.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class GatewayErrorsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void rendersTheOpenAiErrorShape() {
    assertThat(GatewayErrors.json(ErrorKind.ROUTE_NOT_FOUND, "no route for /v2/x"))
        .isEqualTo("{\"error\":{\"message\":\"no route for /v2/x\",\"type\":\"not_found_error\","
            + "\"code\":\"route_not_found\"}}");
  }

  @ParameterizedTest
  @EnumSource(ErrorKind.class)
  void everyKindRendersValidJsonWithItsTypeAndCode(ErrorKind kind) throws Exception {
    JsonNode error = JSON.readTree(GatewayErrors.json(kind, "msg")).get("error");
    assertThat(error.size()).isEqualTo(3);
    assertThat(error.get("message").asText()).isEqualTo("msg");
    assertThat(error.get("type").asText()).isEqualTo(kind.type());
    assertThat(error.get("code").asText()).isEqualTo(kind.code());
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "quote \" and backslash \\", "line\nbreak\r\ttab", "nul \u0000 bell \u0007 esc \u001b del \u007f",
      "unicode é 👋 \u2028", "</script>{\"error\":1}", ""})
  void escapesTheMessageSoItRoundTrips(String message) throws Exception {
    String json = GatewayErrors.json(ErrorKind.MALFORMED_REQUEST, message);
    assertThat(json).doesNotContain("\n").doesNotContain("\r");
    assertThat(JSON.readTree(json).at("/error/message").asText()).isEqualTo(message);
  }

  @Test
  void escapesControlCharactersAsUnicodeEscapes() {
    assertThat(GatewayErrors.escape("a\u0001b\"c\\d\ne")).isEqualTo("a\\u0001b\\\"c\\\\d\\ne");
  }

  @Test
  void buildsAFullJsonResponseWithStatusAndLength() throws Exception {
    FullHttpResponse response =
        GatewayErrors.response(PooledByteBufAllocator.DEFAULT, ErrorKind.NO_HEALTHY_UPSTREAM, "upstream 'llm': é");
    try {
      assertThat(response.protocolVersion()).isEqualTo(HttpVersion.HTTP_1_1);
      assertThat(response.status().code()).isEqualTo(503);
      assertThat(response.headers().get(HttpHeaderNames.CONTENT_TYPE)).isEqualTo("application/json");
      String body = response.content().toString(StandardCharsets.UTF_8);
      assertThat(response.headers().getInt(HttpHeaderNames.CONTENT_LENGTH))
          .isEqualTo(response.content().readableBytes())
          .isEqualTo(body.getBytes(StandardCharsets.UTF_8).length);
      assertThat(body).isEqualTo(GatewayErrors.json(ErrorKind.NO_HEALTHY_UPSTREAM, "upstream 'llm': é"));
      assertThat(JSON.readTree(body).at("/error/code").asText()).isEqualTo("no_healthy_upstream");
    } finally {
      response.release();
    }
  }

  @Test
  void rendersTheSseErrorEventAsExactWireText() {
    ByteBuf event = GatewayErrors.sseEvent(PooledByteBufAllocator.DEFAULT, ErrorKind.UPSTREAM_FAILED,
        "upstream reset\nmid-stream");
    try {
      assertThat(event.toString(StandardCharsets.UTF_8)).isEqualTo(
          "event: error\n"
              + "data: {\"error\":{\"message\":\"upstream reset\\nmid-stream\",\"type\":\"upstream_error\","
              + "\"code\":\"upstream_failed\"}}\n"
              + "\n");
    } finally {
      event.release();
    }
  }

  @Test
  void statusesMatchTheDocumentedErrors() {
    assertThat(ErrorKind.BAD_PATH.status().code()).isEqualTo(400);
    assertThat(ErrorKind.BAD_PATH.type()).isEqualTo("invalid_request_error");
    assertThat(ErrorKind.METHOD_NOT_ALLOWED.status().code()).isEqualTo(405);
    assertThat(ErrorKind.UPSTREAM_TIMEOUT.status().code()).isEqualTo(504);
    assertThat(ErrorKind.UPSTREAM_TIMEOUT.code()).isEqualTo("upstream_timeout");
    assertThat(ErrorKind.HEADERS_TOO_LARGE.status().code()).isEqualTo(431);
  }
}
