package io.sluice.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ModelExtractorTest {

  private static String extract(String json) {
    ByteBuf body = Unpooled.copiedBuffer("ignored-prefix" + json, StandardCharsets.UTF_8);
    body.skipBytes("ignored-prefix".length());
    try {
      int reader = body.readerIndex();
      int writer = body.writerIndex();
      String model = ModelExtractor.model(body);
      assertThat(body.readerIndex()).as("readerIndex").isEqualTo(reader);
      assertThat(body.writerIndex()).as("writerIndex").isEqualTo(writer);
      return model;
    } finally {
      body.release();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"model\":\"qwen-72b\"}",
      "{\"model\":\"qwen-72b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"model\":\"qwen-72b\",\"stream\":true}",
      "{\"stream\":true,\"temperature\":0.2,\"messages\":[],\"model\":\"qwen-72b\"}",
      "{\"metadata\":{\"model\":\"decoy\"},\"tools\":[{\"model\":\"decoy\"}],\"model\":\"qwen-72b\"}",
      " \n {\n  \"model\" : \"qwen-72b\"\n}\n",
      "{\"model\":\"qwen-72b\", \"messages\": [unterminated"})
  void findsTheTopLevelModelWhereverItIs(String json) {
    assertThat(extract(json)).isEqualTo("qwen-72b");
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "",
      "not json",
      "[{\"model\":\"qwen-72b\"}]",
      "\"qwen-72b\"",
      "{\"messages\":[],\"metadata\":{\"model\":\"qwen-72b\"}}",
      "{\"model\":42}",
      "{\"model\":null}",
      "{\"model\":[\"qwen-72b\"]}",
      "{\"model\":{\"name\":\"qwen-72b\"}}",
      "{\"messages\":[",
      "{}"})
  void returnsNullWithoutATopLevelStringModel(String json) {
    assertThat(extract(json)).isNull();
  }
}
