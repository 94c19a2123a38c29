package io.sluice.usage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.PooledByteBufAllocator;
import io.sluice.config.RouteConfig.Api;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RequestRewriterTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private static List<String> fieldNames(byte[] json) throws Exception {
    List<String> names = new ArrayList<>();
    MAPPER.readTree(json).fieldNames().forEachRemaining(names::add);
    return names;
  }

  @Test
  void streamedChatWithoutStreamOptions_addsIncludeUsage_keepsEveryOtherByte() throws Exception {
    String body = "{\n  \"model\": \"gpt-4o\",\n  \"messages\": [{\"role\": \"user\", \"content\": \"Caf\\u00e9 \u2615?\"}],\n"
        + "  \"temperature\": 0.70,\n  \"top_p\": 1e0,\n  \"stream\": true,\n  \"max_tokens\": 256,\n"
        + "  \"metadata\": {\"z\": 1, \"a\": [1, 2.50]}\n}\n";
    RequestInfo info = RequestRewriter.inspect(Api.OPENAI_CHAT, bytes(body));
    assertThat(info.rewritten()).isTrue();
    assertThat(info.dropUsageChunk()).isTrue();
    assertThat(info.clientAskedForUsage()).isFalse();
    int close = body.lastIndexOf('}');
    assertThat(text(info.rewrittenBody())).isEqualTo(
        body.substring(0, close) + ",\"stream_options\":{\"include_usage\":true}" + body.substring(close));
    assertThat(fieldNames(info.rewrittenBody())).containsExactly(
        "model", "messages", "temperature", "top_p", "stream", "max_tokens", "metadata", "stream_options");
    assertThat(MAPPER.readTree(info.rewrittenBody()).at("/stream_options/include_usage").asBoolean()).isTrue();
    assertThat(info.stream()).isTrue();
    assertThat(info.model()).isEqualTo("gpt-4o");
    assertThat(info.maxOutputTokens()).isEqualTo(256);
  }

  @Test
  void alreadyAsking_isByteIdenticalAndNotCopied() {
    byte[] body = bytes("{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    RequestInfo info = RequestRewriter.inspect(Api.OPENAI_CHAT, body);
    assertThat(info.rewritten()).isFalse();
    assertThat(info.dropUsageChunk()).isFalse();
    assertThat(info.clientAskedForUsage()).isTrue();
    assertThat(info.bodyOr(body)).isSameAs(body);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
      "{\"model\":\"gpt-4o\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
      "{\"model\":\"gpt-4o\",\"stream\":\"true\",\"messages\":[]}",
      "{\"stream\":true,\"stream_options\":[true]}",
      "{\"stream\":true,\"stream_options\":\"include_usage\"}",
      "{\"stream\":true,\"messages\":[} garbage",
      "{\"stream\":true} {\"stream\":true}",
      "[{\"stream\":true}]",
      "",
  })
  void nonStreamedOrNotUnderstood_isByteIdenticalAndNotCopied(String text) {
    byte[] body = bytes(text);
    RequestInfo info = RequestRewriter.inspect(Api.OPENAI_CHAT, body);
    assertThat(info.rewritten()).isFalse();
    assertThat(info.dropUsageChunk()).isFalse();
    assertThat(info.bodyOr(body)).isSameAs(body);
  }

  @Test
  void streamOptionsObject_keepsItsOtherFields() throws Exception {
    String body = "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_obfuscation\":false},\"n\":1}";
    RequestInfo info = RequestRewriter.inspect(Api.OPENAI_CHAT, bytes(body));
    assertThat(text(info.rewrittenBody())).isEqualTo("{\"model\":\"gpt-4o\",\"stream\":true,"
        + "\"stream_options\":{\"include_obfuscation\":false,\"include_usage\":true},\"n\":1}");
    assertThat(info.dropUsageChunk()).isTrue();
  }

  @Test
  void includeUsageFalse_becomesTrueInPlace() {
    String body = "{\"stream\":true,\"stream_options\":{ \"include_usage\" : false },\"model\":\"m\"}";
    RequestInfo info = RequestRewriter.inspect(Api.OPENAI_CHAT, bytes(body));
    assertThat(text(info.rewrittenBody()))
        .isEqualTo("{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"model\":\"m\"}");
    assertThat(info.dropUsageChunk()).isTrue();
    assertThat(info.clientAskedForUsage()).isFalse();
  }

  @Test
  void streamOptionsNull_becomesAnObject() {
    String body = "{\"stream\":true,\"stream_options\":null,\"model\":\"m\"}";
    RequestInfo info = RequestRewriter.inspect(Api.OPENAI_CHAT, bytes(body));
    assertThat(text(info.rewrittenBody()))
        .isEqualTo("{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"model\":\"m\"}");
  }

  @Test
  void otherApis_areNeverRewritten() {
    byte[] responses = bytes("{\"model\":\"o4-mini\",\"stream\":true,\"input\":\"Hi\",\"max_output_tokens\":500}");
    RequestInfo r = RequestRewriter.inspect(Api.OPENAI_RESPONSES, responses);
    assertThat(r.bodyOr(responses)).isSameAs(responses);
    assertThat(r.stream()).isTrue();
    assertThat(r.maxOutputTokens()).isEqualTo(500);
    assertThat(r.dropUsageChunk()).isFalse();

    byte[] anthropic = bytes("{\"model\":\"claude-sonnet-4-20250514\",\"max_tokens\":1024,\"stream\":true,"
        + "\"system\":\"Be brief.\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}]}]}");
    RequestInfo a = RequestRewriter.inspect(Api.ANTHROPIC_MESSAGES, anthropic);
    assertThat(a.bodyOr(anthropic)).isSameAs(anthropic);
    assertThat(a.maxOutputTokens()).isEqualTo(1024);
    assertThat(a.model()).isEqualTo("claude-sonnet-4-20250514");

    byte[] chat = bytes("{\"stream\":true,\"messages\":[]}");
    assertThat(RequestRewriter.inspect(Api.PASSTHROUGH, chat).bodyOr(chat)).isSameAs(chat);
  }

  @Test
  void maxOutputTokens_precedence() {
    assertThat(RequestRewriter.inspect(Api.OPENAI_CHAT, bytes("{\"max_tokens\":100,\"max_completion_tokens\":300}"))
        .maxOutputTokens()).isEqualTo(300);
    assertThat(RequestRewriter.inspect(Api.OPENAI_CHAT, bytes("{\"max_tokens\":100}")).maxOutputTokens()).isEqualTo(100);
    assertThat(RequestRewriter.inspect(Api.OPENAI_CHAT, bytes("{\"max_tokens\":\"lots\"}")).maxOutputTokens()).isEqualTo(-1);
    assertThat(RequestRewriter.inspect(Api.OPENAI_CHAT, bytes("{\"model\":\"m\"}")).maxOutputTokens()).isEqualTo(-1);
  }

  @Test
  void byteBufBody_readInPlace() {
    String text = "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer();
    try {
      buf.writeBytes(bytes("xx")).readerIndex(2); // the body need not start at index 0
      buf.writeBytes(bytes(text));
      RequestInfo info = RequestRewriter.inspect(Api.OPENAI_CHAT, buf);
      assertThat(buf.readerIndex()).isEqualTo(2);
      assertThat(buf.refCnt()).isEqualTo(1);
      assertThat(text(info.rewrittenBody()))
          .isEqualTo(text.substring(0, text.length() - 1) + ",\"stream_options\":{\"include_usage\":true}}");
      assertThat(info.promptTokens()).isEqualTo(RequestRewriter.inspect(Api.OPENAI_CHAT, bytes(text)).promptTokens());

      buf.clear().writeBytes(bytes("{\"stream\":false}"));
      assertThat(RequestRewriter.inspect(Api.OPENAI_CHAT, buf).rewritten()).isFalse();
    } finally {
      buf.release();
    }
  }

  @Test
  void promptEstimate_countsMessageTextNotImagesOrIds() {
    String hi = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"You are helpful.\"},"
        + "{\"role\":\"user\",\"content\":\"What is the capital of France?\"}]}";
    long small = RequestRewriter.inspect(Api.OPENAI_CHAT, bytes(hi)).promptTokens();
    // text, one newline after each piece, 4 per message, 3 for the reply
    assertThat(small).isEqualTo(TokenEstimator.count("You are helpful.\nWhat is the capital of France?\n") + 2 * 4 + 3);

    String image = "data:image/png;base64," + "iVBORw0KGgoAAAANSUhEUgAA".repeat(10_000);
    String withImage = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"You are helpful.\"},"
        + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is the capital of France?\"},"
        + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + image + "\",\"detail\":\"low\"}}]}],"
        + "\"user\":\"" + "u".repeat(5000) + "\"}";
    assertThat(RequestRewriter.inspect(Api.OPENAI_CHAT, bytes(withImage)).promptTokens()).isEqualTo(small);

    String longer = hi.replace("capital of France?", "capital of France? " + "Explain its history. ".repeat(200));
    assertThat(RequestRewriter.inspect(Api.OPENAI_CHAT, bytes(longer)).promptTokens()).isGreaterThan(small + 600);
  }

  @Test
  void promptEstimate_responsesAndAnthropicShapes() {
    String responses = "{\"model\":\"o4-mini\",\"instructions\":\"Be brief.\",\"input\":[{\"role\":\"user\","
        + "\"content\":[{\"type\":\"input_text\",\"text\":\"Hello there\"}]}],\"tools\":[{\"type\":\"function\","
        + "\"name\":\"get_weather\",\"description\":\"Current weather\",\"parameters\":{\"type\":\"object\"}}]}";
    assertThat(RequestRewriter.inspect(Api.OPENAI_RESPONSES, bytes(responses)).promptTokens())
        .isEqualTo(TokenEstimator.count("Be brief.\nHello there\nget_weather\nCurrent weather\n") + 4 + 3);
    assertThat(RequestRewriter.inspect(Api.OPENAI_RESPONSES, bytes("{\"input\":\"Hello there\"}")).promptTokens())
        .isEqualTo(TokenEstimator.count("Hello there\n"));
    String anthropic = "{\"model\":\"claude\",\"max_tokens\":10,\"system\":[{\"type\":\"text\",\"text\":\"Be brief.\","
        + "\"cache_control\":{\"type\":\"ephemeral\"}}],\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]}";
    assertThat(RequestRewriter.inspect(Api.ANTHROPIC_MESSAGES, bytes(anthropic)).promptTokens())
        .isEqualTo(TokenEstimator.count("Be brief.\nHello there\n") + 4 + 3);
  }

  @Test
  void rewrittenBodyParsesBackWithTheSameValues() throws Exception {
    String body = "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
        + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{}}}],\"seed\":12345678901234}";
    RequestInfo info = RequestRewriter.inspect(Api.OPENAI_CHAT, bytes(body));
    JsonNode before = MAPPER.readTree(body);
    JsonNode after = MAPPER.readTree(info.rewrittenBody());
    ((ObjectNode) after).remove("stream_options");
    assertThat(after).isEqualTo(before);
  }

  /** The bodies every buffer-held variant must read as the byte[] one does (rewrites of each kind, and ones left alone). */
  private static final List<String> BODIES = List.of(
      "{\n  \"model\": \"gpt-4o\",\n  \"messages\": [{\"role\": \"user\", \"content\": \"Caf\\u00e9 \u2615?\"}],\n"
          + "  \"stream\": true,\n  \"max_tokens\": 256\n}\n",
      "{\"model\":\"m\",\"stream\":true,\"stream_options\":null,\"messages\":[]}",
      "{\"model\":\"m\",\"stream\":true,\"stream_options\": {\"include_usage\": false, \"x\": [1]},\"max_completion_tokens\":9}",
      "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
      "{\"model\":\"m\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
      "{\"stream\":true,\"messages\":[} garbage",
      "{\"model\":\"big\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"" + "long text ".repeat(8000) + "\"}]}");

  @Test
  void bufferHeldBodies_heapWithOffset_directComposite_andLarge_readAsTheArrayIs() {
    for (String text : BODIES) {
      byte[] body = bytes(text);
      RequestInfo expected = RequestRewriter.inspect(Api.OPENAI_CHAT, body);
      // a heap buffer whose readable bytes start inside its array
      byte[] padded = new byte[body.length + 7];
      System.arraycopy(body, 0, padded, 5, body.length);
      ByteBuf heap = Unpooled.wrappedBuffer(padded, 3, body.length + 2).skipBytes(2);
      assertSame(expected, RequestRewriter.inspect(Api.OPENAI_CHAT, heap), text);
      // a composite of direct buffers, as the gateway aggregates a request (split mid-token)
      CompositeByteBuf composite = PooledByteBufAllocator.DEFAULT.compositeDirectBuffer();
      int half = body.length / 2;
      composite.addComponent(true, PooledByteBufAllocator.DEFAULT.directBuffer().writeBytes(body, 0, half));
      composite.addComponent(true, PooledByteBufAllocator.DEFAULT.directBuffer().writeBytes(body, half, body.length - half));
      try {
        assertSame(expected, RequestRewriter.inspect(Api.OPENAI_CHAT, composite), text);
        assertThat(composite.readerIndex()).isZero();
        assertThat(composite.refCnt()).isEqualTo(1);
      } finally {
        composite.release();
      }
    }
  }

  private static void assertSame(RequestInfo expected, RequestInfo actual, String body) {
    assertThat(actual.stream()).as(body).isEqualTo(expected.stream());
    assertThat(actual.model()).as(body).isEqualTo(expected.model());
    assertThat(actual.maxOutputTokens()).as(body).isEqualTo(expected.maxOutputTokens());
    assertThat(actual.clientAskedForUsage()).as(body).isEqualTo(expected.clientAskedForUsage());
    assertThat(actual.dropUsageChunk()).as(body).isEqualTo(expected.dropUsageChunk());
    assertThat(actual.rewrittenBody()).as(body).isEqualTo(expected.rewrittenBody());
    assertThat(actual.promptTokens()).as(body).isEqualTo(expected.promptTokens());
  }

  @Test
  void rewrittenBuffer_isADirectBufferFromTheAllocator_withTheRewrittenBytes() {
    RequestInfo info = RequestRewriter.inspect(Api.OPENAI_CHAT, bytes(BODIES.get(1)));
    ByteBuf out = info.rewrittenBuffer(PooledByteBufAllocator.DEFAULT);
    try {
      assertThat(out.isDirect()).isTrue(); // off the heap: kept for the estimate, never copied by a young collection
      assertThat(out.alloc()).isSameAs(PooledByteBufAllocator.DEFAULT);
      assertThat(out.refCnt()).isEqualTo(1);
      assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(text(info.rewrittenBody()));
    } finally {
      out.release();
    }
  }

  @Test
  void bufferHeldBodies_rewrittenAsExpected() {
    assertThat(text(RequestRewriter.inspect(Api.OPENAI_CHAT, Unpooled.copiedBuffer(bytes(BODIES.get(1))))
        .rewrittenBody())).isEqualTo("{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[]}");
    assertThat(text(RequestRewriter.inspect(Api.OPENAI_CHAT, Unpooled.copiedBuffer(bytes(BODIES.get(2))))
        .rewrittenBody())).isEqualTo("{\"model\":\"m\",\"stream\":true,\"stream_options\": {\"include_usage\":true,\"x\":[1]},"
            + "\"max_completion_tokens\":9}");
    String big = BODIES.get(6);
    int close = big.lastIndexOf('}');
    ByteBuf direct = PooledByteBufAllocator.DEFAULT.directBuffer().writeBytes(bytes(big));
    try {
      assertThat(text(RequestRewriter.inspect(Api.OPENAI_CHAT, direct).rewrittenBody()))
          .isEqualTo(big.substring(0, close) + ",\"stream_options\":{\"include_usage\":true}" + big.substring(close));
    } finally {
      direct.release();
    }
  }

  /**
   * The top-level scan that {@code inspect} reads a body with, against the general walk of every
   * value: the same result (what was read, the rewrite byte for byte, whether it parsed) for
   * bodies of every shape the fields can take, malformed and hostile ones included, and for
   * every cut of them (truncated JSON).
   */
  @Test
  void theTopLevelScanAgreesWithTheGeneralWalk() {
    List<String> bodies = new ArrayList<>(List.of(
        "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
        "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[]}",
        "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":false,\"x\":{\"include_usage\":true}}}",
        "{\"stream\":true,\"stream_options\":null}",
        "{\"stream\":true,\"stream_options\":[{\"include_usage\":true}]}",
        "{\"stream\":true,\"stream_options\":\"yes\"}",
        "{\"stream\":true,\"stream_options\":{\"include_usage\":[true]}}",
        "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"stream_options\":null}",
        "{\"stream\":true,\"stream_options\":null,\"stream_options\":{\"a\":1}}",
        "{\"stream\":{\"stream\":true},\"model\":{\"model\":\"x\"}}",
        "{\"stream\":true,\"stream\":false}",
        "{\"model\":\"a\",\"model\":7,\"max_tokens\":12,\"max_completion_tokens\":-3,\"max_output_tokens\":1e3}",
        "{\"max_tokens\":123456789012345678901234567890,\"max_output_tokens\":5}",
        "{\"messages\":{\"role\":\"x\"},\"input\":[\"a\",{\"type\":\"message\"},[1]],\"tools\":[{\"stream\":true}]}",
        "{\"metadata\":{\"stream_options\":{\"include_usage\":true},\"stream\":true},\"stream\":true}",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],\"stream\":true}",
        " \n {\"stream\" : true , \"model\" : \"caf\\u00e9\" } \n ",
        "{}", "[]", "[{\"stream\":true}]", "\"text\"", "42", "null", "", "   ",
        "{\"stream\":true}{}", "{\"stream\":true} x", "{\"stream\":true,}", "{\"stream\":tru}",
        "{\"stream\":true,\"messages\":[{\"content\":\"\\q\"}]}",
        "{\"stream\":true,\"messages\":[{\"content\":\"unterminated}]}"));
    String[] values = {"true", "false", "null", "1", "\"s\"", "{}", "[]", "{\"include_usage\":true}", "[true]"};
    String[] fields = {"stream", "model", "max_tokens", "stream_options", "messages", "input", "other"};
    for (String f1 : fields) {
      for (String v1 : values) {
        for (String v2 : values) {
          bodies.add("{\"" + f1 + "\":" + v1 + ",\"stream\":" + v2 + ",\"stream_options\":" + v1 + "}");
        }
      }
    }
    int compared = 0;
    for (String body : bodies) {
      for (int cut = 0; cut <= body.length(); cut += body.length() > 80 ? 7 : 1) {
        byte[] b = bytes(body.substring(0, cut));
        for (Api api : new Api[] {Api.OPENAI_CHAT, Api.OPENAI_RESPONSES, Api.ANTHROPIC_MESSAGES}) {
          assertThat(summary(RequestRewriter.inspect(api, b))).as("%s %s", api, text(b))
              .isEqualTo(summary(RequestRewriter.inspectByWalk(api, b)));
          compared++;
        }
      }
    }
    assertThat(compared).isGreaterThan(10_000);
  }

  private static String summary(RequestInfo info) {
    return info.prompt().api() + " stream=" + info.stream() + " model=" + info.model() + " max=" + info.maxOutputTokens()
        + " asked=" + info.clientAskedForUsage() + " drop=" + info.dropUsageChunk() + " body="
        + (info.rewrittenBody() == null ? null : text(info.rewrittenBody()));
  }
}
