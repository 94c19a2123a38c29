package io.sluice.demo;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import io.sluice.testing.NodeSdkClient;
import io.sluice.testing.NodeSdkClient.Sdk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Talks to a real {@link MockModelServer} over real sockets. */
class MockModelServerTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1) // no h2c upgrade attempt: the mock speaks HTTP/1.1
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  private MockModelServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private MockModelServer start(Duration interval, String reply) {
    server = MockModelServer.start("127.0.0.1", 0, new MockModelServer.Options(interval, reply));
    return server;
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + server.port() + path);
  }

  private HttpRequest post(String body) {
    return HttpRequest.newBuilder(uri("/v1/chat/completions"))
        .timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
  }

  private static String chatBody(String extra) {
    return "{\"model\":\"gpt-test\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
        + "{\"role\":\"user\",\"content\":\"say hello to the world\"}]" + extra + "}";
  }

  /** A received SSE data line and the time it arrived. */
  private record Event(String data, long arrivedNanos) {
    JsonNode json() {
      try {
        return JSON.readTree(data);
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + data, e);
      }
    }
  }

  private List<Event> stream(String extra) throws Exception {
    HttpResponse<Stream<String>> res = CLIENT.send(post(chatBody(extra)), HttpResponse.BodyHandlers.ofLines());
    assertThat(res.statusCode()).isEqualTo(200);
    assertThat(res.headers().firstValue("content-type")).hasValue("text/event-stream");
    List<Event> events = new ArrayList<>();
    try (Stream<String> lines = res.body()) {
      // Lines are handed over as they arrive, so the arrival time is the time the event came in.
      lines.forEach(line -> {
        if (line.startsWith("data: ")) {
          events.add(new Event(line.substring("data: ".length()), System.nanoTime()));
        } else {
          assertThat(line).as("only data lines and blank separators").isEmpty();
        }
      });
    }
    return events;
  }

  private static String content(List<Event> events) {
    return events.stream()
        .filter(e -> !e.data().equals("[DONE]"))
        .map(Event::json)
        .filter(j -> j.path("choices").size() == 1)
        .map(j -> j.path("choices").path(0).path("delta").path("content").asText(""))
        .collect(Collectors.joining());
  }

  @Test
  void streamedResponseHasRoleChunkTokensFinishAndDone() throws Exception {
    start(Duration.ofMillis(5), "Hello world from Sluice.");

    List<Event> events = stream(",\"stream\":true");

    assertThat(events).extracting(Event::data).last().isEqualTo("[DONE]");
    List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(Event::json).toList();
    assertThat(chunks).hasSize(1 + 4 + 1);
    String id = chunks.get(0).path("id").asText();
    assertThat(id).startsWith("chatcmpl-");
    for (JsonNode chunk : chunks) {
      assertThat(chunk.path("id").asText()).isEqualTo(id);
      assertThat(chunk.path("object").asText()).isEqualTo("chat.completion.chunk");
      assertThat(chunk.path("model").asText()).isEqualTo("gpt-test");
      assertThat(chunk.path("created").isIntegralNumber()).isTrue();
      assertThat(chunk.has("usage")).as("no usage without include_usage").isFalse();
      assertThat(chunk.path("choices")).hasSize(1);
    }
    JsonNode first = chunks.get(0).path("choices").path(0);
    assertThat(first.path("delta").path("role").asText()).isEqualTo("assistant");
    assertThat(first.path("delta").path("content").asText()).isEmpty();
    assertThat(first.path("finish_reason").isNull()).isTrue();

    assertThat(chunks.subList(1, 5))
        .extracting(c -> c.path("choices").path(0).path("delta").path("content").asText())
        .containsExactly("Hello", " world", " from", " Sluice.");
    assertThat(chunks.subList(1, 5))
        .allSatisfy(c -> assertThat(c.path("choices").path(0).path("finish_reason").isNull()).isTrue());

    JsonNode last = chunks.get(5).path("choices").path(0);
    assertThat(last.path("finish_reason").asText()).isEqualTo("stop");
    assertThat(last.path("delta").isObject()).isTrue();
    assertThat(last.path("delta").size()).isZero();
  }

  @Test
  void tokensArrivePaced() throws Exception {
    String reply = "one two three four five six seven eight nine ten eleven twelve";
    start(Duration.ofMillis(20), reply);

    long before = System.nanoTime();
    List<Event> events = stream(",\"stream\":true");

    assertThat(content(events)).isEqualTo(reply);
    List<Event> tokens = events.subList(1, 13);
    long distinctMillis = tokens.stream().mapToLong(e -> e.arrivedNanos() / 1_000_000).distinct().count();
    // Paced tokens arrive at (at least roughly) distinct times; one burst would share a millisecond
    // or two. Loose on purpose: CI machines stall.
    assertThat(distinctMillis).isGreaterThanOrEqualTo(6);
    // A lower bound only: timers never fire early, but may fire late.
    long spanMillis = (events.get(events.size() - 1).arrivedNanos() - before) / 1_000_000;
    assertThat(spanMillis).isGreaterThanOrEqualTo(11 * 20 / 2);
  }

  @Test
  void usageChunkOnlyWithIncludeUsage() throws Exception {
    start(Duration.ZERO, "Hello world from Sluice.");

    List<Event> events = stream(",\"stream\":true,\"stream_options\":{\"include_usage\":true}");

    assertThat(events).extracting(Event::data).last().isEqualTo("[DONE]");
    List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(Event::json).toList();
    assertThat(chunks).hasSize(1 + 4 + 1 + 1);
    JsonNode usageChunk = chunks.get(chunks.size() - 1);
    assertThat(usageChunk.path("object").asText()).isEqualTo("chat.completion.chunk");
    assertThat(usageChunk.path("choices").isArray()).isTrue();
    assertThat(usageChunk.path("choices")).isEmpty();
    JsonNode usage = usageChunk.path("usage");
    assertThat(usage.path("prompt_tokens").asInt()).isEqualTo(7); // "be brief" + "say hello to the world"
    assertThat(usage.path("completion_tokens").asInt()).isEqualTo(4);
    assertThat(usage.path("total_tokens").asInt()).isEqualTo(11);
    // Like OpenAI: every other chunk carries "usage": null.
    assertThat(chunks.subList(0, chunks.size() - 1))
        .allSatisfy(c -> assertThat(c.get("usage").isNull()).isTrue());
    assertThat(chunks.get(chunks.size() - 2).path("choices").path(0).path("finish_reason").asText())
        .isEqualTo("stop");

    // include_usage false: no usage chunk at all.
    List<Event> without = stream(",\"stream\":true,\"stream_options\":{\"include_usage\":false}");
    assertThat(without).hasSize(1 + 4 + 1 + 1);
    assertThat(without.subList(0, without.size() - 1))
        .allSatisfy(e -> assertThat(e.json().has("usage")).isFalse());
  }

  @Test
  void nonStreamedCompletionIsOneJsonObjectWithUsage() throws Exception {
    start(Duration.ofSeconds(10), "Hello world from Sluice."); // pacing must not apply here

    HttpResponse<String> res = CLIENT.send(post(chatBody("")), HttpResponse.BodyHandlers.ofString());

    assertThat(res.statusCode()).isEqualTo(200);
    assertThat(res.headers().firstValue("content-type")).hasValue("application/json");
    JsonNode body = JSON.readTree(res.body());
    assertThat(body.path("id").asText()).startsWith("chatcmpl-");
    assertThat(body.path("object").asText()).isEqualTo("chat.completion");
    assertThat(body.path("created").isIntegralNumber()).isTrue();
    assertThat(body.path("model").asText()).isEqualTo("gpt-test");
    JsonNode choice = body.path("choices").path(0);
    assertThat(body.path("choices")).hasSize(1);
    assertThat(choice.path("index").asInt()).isZero();
    assertThat(choice.path("message").path("role").asText()).isEqualTo("assistant");
    assertThat(choice.path("message").path("content").asText()).isEqualTo("Hello world from Sluice.");
    assertThat(choice.path("finish_reason").asText()).isEqualTo("stop");
    assertThat(body.path("usage").path("prompt_tokens").asInt()).isEqualTo(7);
    assertThat(body.path("usage").path("completion_tokens").asInt()).isEqualTo(4);
    assertThat(body.path("usage").path("total_tokens").asInt()).isEqualTo(11);
  }

  @Test
  void modelDefaultsToTheMockModel() throws Exception {
    start(Duration.ZERO, "Hi.");

    HttpResponse<String> res = CLIENT.send(
        HttpRequest.newBuilder(uri("/v1/chat/completions"))
            .POST(HttpRequest.BodyPublishers.ofString("{\"messages\":[]}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());

    assertThat(res.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(res.body()).path("model").asText()).isEqualTo("sluice-mock-1");
  }

  @Test
  void maxTokensStopsEarlyWithFinishReasonLength() throws Exception {
    start(Duration.ZERO, "Hello world from Sluice.");

    JsonNode body = JSON.readTree(
        CLIENT.send(post(chatBody(",\"max_tokens\":2")), HttpResponse.BodyHandlers.ofString()).body());
    assertThat(body.path("choices").path(0).path("message").path("content").asText()).isEqualTo("Hello world");
    assertThat(body.path("choices").path(0).path("finish_reason").asText()).isEqualTo("length");
    assertThat(body.path("usage").path("completion_tokens").asInt()).isEqualTo(2);

    List<Event> events = stream(",\"stream\":true,\"max_tokens\":3,\"stream_options\":{\"include_usage\":true}");
    assertThat(content(events)).isEqualTo("Hello world from");
    List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(Event::json).toList();
    assertThat(chunks).hasSize(1 + 3 + 1 + 1);
    assertThat(chunks.get(4).path("choices").path(0).path("finish_reason").asText()).isEqualTo("length");
    assertThat(chunks.get(5).path("usage").path("completion_tokens").asInt()).isEqualTo(3);

    // A limit equal to the reply's length sends the reply once: a natural stop.
    JsonNode all = JSON.readTree(
        CLIENT.send(post(chatBody(",\"max_tokens\":4")), HttpResponse.BodyHandlers.ofString()).body());
    assertThat(all.path("choices").path(0).path("finish_reason").asText()).isEqualTo("stop");
    assertThat(all.path("usage").path("completion_tokens").asInt()).isEqualTo(4);
  }

  @Test
  void maxTokensAboveTheReplyRepeatsItsWords() throws Exception {
    start(Duration.ZERO, "Hello world.");

    JsonNode body = JSON.readTree(
        CLIENT.send(post(chatBody(",\"max_tokens\":5")), HttpResponse.BodyHandlers.ofString()).body());
    JsonNode choice = body.path("choices").path(0);
    assertThat(choice.path("message").path("content").asText()).isEqualTo("Hello world. Hello world. Hello");
    assertThat(choice.path("finish_reason").asText()).isEqualTo("length");
    assertThat(body.path("usage").path("completion_tokens").asInt()).isEqualTo(5);

    List<Event> events = stream(",\"stream\":true,\"max_tokens\":100,\"stream_options\":{\"include_usage\":true}");
    List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(Event::json).toList();
    assertThat(chunks).hasSize(1 + 100 + 1 + 1);
    assertThat(chunks.subList(1, 101))
        .extracting(c -> c.path("choices").path(0).path("delta").path("content").asText())
        .allSatisfy(t -> assertThat(t).isIn("Hello", " Hello", " world."));
    assertThat(content(events)).startsWith("Hello world. Hello world.").endsWith(" world.");
    assertThat(chunks.get(101).path("choices").path(0).path("finish_reason").asText()).isEqualTo("length");
    assertThat(chunks.get(102).path("usage").path("completion_tokens").asInt()).isEqualTo(100);
  }

  private HttpRequest postWithInterval(String body, String intervalMillis) {
    return HttpRequest.newBuilder(uri("/v1/chat/completions"))
        .timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/json")
        .header(MockModelServer.TOKEN_INTERVAL_HEADER, intervalMillis)
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
  }

  @Test
  void intervalHeaderZeroTurnsPacingOff() throws Exception {
    start(Duration.ofSeconds(10), "Hello world."); // the server's default would take minutes

    long before = System.nanoTime();
    HttpResponse<String> res = CLIENT.send(
        postWithInterval(chatBody(",\"stream\":true,\"max_tokens\":50"), "0"),
        HttpResponse.BodyHandlers.ofString());

    assertThat(res.statusCode()).isEqualTo(200);
    assertThat(res.body()).contains("data: [DONE]");
    assertThat(res.body().split("\n\n")).hasSize(1 + 50 + 1 + 1);
    assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void intervalHeaderPacesTokens() throws Exception {
    start(Duration.ZERO, "one two three four five six seven eight nine ten");

    long before = System.nanoTime();
    HttpResponse<Stream<String>> res = CLIENT.send(
        postWithInterval(chatBody(",\"stream\":true"), "20"), HttpResponse.BodyHandlers.ofLines());
    List<Long> arrivals = new ArrayList<>();
    try (Stream<String> lines = res.body()) {
      lines.filter(l -> l.startsWith("data: ")).forEach(l -> arrivals.add(System.nanoTime()));
    }

    assertThat(arrivals).hasSize(1 + 10 + 1 + 1);
    // A lower bound only: timers never fire early, but may fire late.
    long spanMillis = (arrivals.get(arrivals.size() - 1) - before) / 1_000_000;
    assertThat(spanMillis).isGreaterThanOrEqualTo(10 * 20 / 2);
  }

  @Test
  void badIntervalHeaderIs400() throws Exception {
    start(Duration.ZERO, "Hi.");

    for (String bad : List.of("-1", "soon", "1.5", "99999999999")) {
      HttpResponse<String> res = CLIENT.send(
          postWithInterval(chatBody(",\"stream\":true"), bad), HttpResponse.BodyHandlers.ofString());
      assertThat(res.statusCode()).as(bad).isEqualTo(400);
      JsonNode error = JSON.readTree(res.body()).path("error");
      assertThat(error.path("type").asText()).as(bad).isEqualTo("invalid_request_error");
      assertThat(error.path("message").asText()).as(bad).contains(MockModelServer.TOKEN_INTERVAL_HEADER);
    }
  }

  @Test
  void unpacedStreamWaitsForASlowReader() throws Exception {
    start(Duration.ofSeconds(10), "Hello world from Sluice.");
    int tokens = 200_000; // tens of MiB of events: far more than the socket buffers hold
    // The role chunk, the tokens, the finish chunk and [DONE].
    assertUnpacedStreamWaitsForASlowReader("/v1/chat/completions",
        chatBody(",\"stream\":true,\"max_tokens\":" + tokens), 1 + tokens + 1 + 1);
  }

  @Test
  void unpacedMessagesStreamWaitsForASlowReader() throws Exception {
    start(Duration.ofSeconds(10), "Hello world from Sluice.");
    int tokens = 200_000;
    // message_start, content_block_start, ping, the tokens, content_block_stop, message_delta, message_stop.
    assertUnpacedStreamWaitsForASlowReader("/v1/messages",
        messagesBody(",\"stream\":true,\"max_tokens\":" + tokens), 3 + tokens + 3);
  }

  private void assertUnpacedStreamWaitsForASlowReader(String path, String body, long expectedEvents)
      throws Exception {
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: x\r\n"
          + MockModelServer.TOKEN_INTERVAL_HEADER + ": 0\r\nConnection: close\r\n"
          + "Content-Length: " + body.getBytes(UTF_8).length + "\r\n\r\n" + body).getBytes(UTF_8));
      InputStream in = socket.getInputStream();
      assertThat(in.read()).isNotEqualTo(-1);
      Thread.sleep(300);
      // Not reading: the server must be waiting for the socket, not done (nor buffering it all).
      assertThat(server.activeStreams()).isEqualTo(1);

      byte[] chunk = new byte[64 * 1024];
      long events = 0;
      byte previous = 0;
      for (int n; (n = in.read(chunk)) != -1; ) {
        for (int i = 0; i < n; i++) {
          // An SSE event ends with a blank line: "\n\n" (chunk framing uses "\r\n").
          if (chunk[i] == '\n' && previous == '\n') {
            events++;
          }
          previous = chunk[i];
        }
      }
      assertThat(events).isEqualTo(expectedEvents);
    }
    awaitNoActiveStreams();
  }

  /**
   * The server counts a stream as finished just after its last write, and that write's close
   * listener can run first: the client may see the end a moment before the count drops.
   */
  private void awaitNoActiveStreams() throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (server.activeStreams() != 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(server.activeStreams()).isZero();
  }

  @Test
  void listsTheMockModel() throws Exception {
    start(Duration.ZERO, "Hi.");

    HttpResponse<String> res = CLIENT.send(
        HttpRequest.newBuilder(uri("/v1/models")).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(res.statusCode()).isEqualTo(200);
    JsonNode body = JSON.readTree(res.body());
    assertThat(body.path("object").asText()).isEqualTo("list");
    assertThat(body.path("data")).hasSize(1);
    JsonNode model = body.path("data").path(0);
    assertThat(model.path("id").asText()).isEqualTo("sluice-mock-1");
    assertThat(model.path("object").asText()).isEqualTo("model");
    assertThat(model.path("owned_by").asText()).isEqualTo("sluice");
  }

  @Test
  void healthIsOk() throws Exception {
    start(Duration.ZERO, "Hi.");

    HttpResponse<String> res = CLIENT.send(
        HttpRequest.newBuilder(uri("/health")).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(res.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(res.body())).isEqualTo(JSON.readTree("{\"status\":\"ok\"}"));
  }

  @Test
  void unknownPathIsAnOpenAiStyle404() throws Exception {
    start(Duration.ZERO, "Hi.");

    HttpResponse<String> res = CLIENT.send(
        HttpRequest.newBuilder(uri("/v1/nope?x=1")).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(res.statusCode()).isEqualTo(404);
    assertThat(res.headers().firstValue("content-type")).hasValue("application/json");
    JsonNode error = JSON.readTree(res.body()).path("error");
    assertThat(error.path("message").asText()).contains("/v1/nope");
    assertThat(error.path("type").asText()).isEqualTo("not_found_error");
    assertThat(error.path("code").asText()).isEqualTo("not_found");
  }

  @Test
  void badJsonIsAnOpenAiStyle400() throws Exception {
    start(Duration.ZERO, "Hi.");

    for (String bad : List.of("{not json", "", "[1,2]", "{\"messages\":[]} trailing",
        "{\"model\":\"m\"}", "{\"messages\":[],\"max_tokens\":0}", "{\"messages\":[],\"stream\":\"yes\"}")) {
      HttpResponse<String> res = CLIENT.send(post(bad), HttpResponse.BodyHandlers.ofString());
      assertThat(res.statusCode()).as(bad).isEqualTo(400);
      JsonNode error = JSON.readTree(res.body()).path("error");
      assertThat(error.path("message").asText()).as(bad).isNotEmpty();
      assertThat(error.path("type").asText()).as(bad).isEqualTo("invalid_request_error");
      assertThat(error.path("code").asText()).as(bad).isNotEmpty();
    }
  }

  @Test
  void wrongMethodIs405() throws Exception {
    start(Duration.ZERO, "Hi.");

    HttpResponse<String> res = CLIENT.send(
        HttpRequest.newBuilder(uri("/v1/chat/completions")).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(res.statusCode()).isEqualTo(405);
    assertThat(res.headers().firstValue("allow")).hasValue("POST");
    assertThat(JSON.readTree(res.body()).path("error").path("type").asText()).isEqualTo("invalid_request_error");
  }

  @Test
  void keepAliveServesPipelinedRequestsInOrderOnOneConnection() throws Exception {
    start(Duration.ofMillis(5), "Hello world from Sluice.");
    String body = chatBody(",\"stream\":true");

    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(5000);
      OutputStream out = socket.getOutputStream();
      // Both requests in one write: the second arrives while the first is still streaming.
      out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "Content-Length: " + body.getBytes(UTF_8).length + "\r\n\r\n" + body
          + "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(UTF_8));
      out.flush();

      String all = readUntilClosed(socket.getInputStream());
      int done = all.indexOf("data: [DONE]");
      int health = all.indexOf("{\"status\":\"ok\"}");
      assertThat(done).as(all).isPositive();
      assertThat(health).as(all).isGreaterThan(done);
      assertThat(all.toLowerCase(Locale.ROOT)).contains("transfer-encoding: chunked").contains("text/event-stream");
    }
  }

  @Test
  void clientDisconnectStopsTheStream() throws Exception {
    start(Duration.ofMillis(50), String.join(" ", Collections.nCopies(200, "word")));
    String body = chatBody(",\"stream\":true");

    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(5000);
      socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
          + "Content-Length: " + body.getBytes(UTF_8).length + "\r\n\r\n" + body).getBytes(UTF_8));
      InputStream in = socket.getInputStream();
      assertThat(in.read()).isNotEqualTo(-1); // the stream has started
      assertThat(server.activeStreams()).isEqualTo(1);
    }

    awaitNoActiveStreams();
    // The server is still fine for the next client.
    HttpResponse<String> res = CLIENT.send(
        HttpRequest.newBuilder(uri("/health")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(res.statusCode()).isEqualTo(200);
  }

  // --- Anthropic Messages: POST /v1/messages ---

  private static String messagesBody(String extra) {
    return "{\"model\":\"claude-test\",\"system\":\"be brief\","
        + "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"say hello to the world\"}]}]"
        + extra + "}";
  }

  private HttpRequest postMessages(String body, String intervalMillis) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri("/v1/messages"))
        .timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (intervalMillis != null) {
      b.header(MockModelServer.TOKEN_INTERVAL_HEADER, intervalMillis);
    }
    return b.build();
  }

  /** One Anthropic SSE event: its {@code event:} name, its data and when it arrived. */
  private record NamedEvent(String name, JsonNode data, long arrivedNanos) {}

  private List<NamedEvent> messagesStream(String extra, String intervalMillis) throws Exception {
    HttpResponse<Stream<String>> res = CLIENT.send(
        postMessages(messagesBody(",\"stream\":true" + extra), intervalMillis), HttpResponse.BodyHandlers.ofLines());
    assertThat(res.statusCode()).isEqualTo(200);
    assertThat(res.headers().firstValue("content-type")).hasValue("text/event-stream");
    List<NamedEvent> events = new ArrayList<>();
    String[] name = {null};
    try (Stream<String> lines = res.body()) {
      lines.forEach(line -> {
        if (line.startsWith("event: ")) {
          assertThat(name[0]).as("one event line per event").isNull();
          name[0] = line.substring("event: ".length());
        } else if (line.startsWith("data: ")) {
          assertThat(name[0]).as("every event is named before its data").isNotNull();
          events.add(new NamedEvent(name[0], new Event(line.substring("data: ".length()), 0).json(), System.nanoTime()));
          name[0] = null;
        } else {
          assertThat(line).as("only event and data lines and blank separators").isEmpty();
        }
      });
    }
    return events;
  }

  @Test
  void messagesStreamIsAnthropicsEventSequence() throws Exception {
    start(Duration.ofMillis(5), "Hello world from Sluice.");

    // max_tokens is required (as in Anthropic's API); the reply's length: a natural end.
    List<NamedEvent> events = messagesStream(",\"max_tokens\":4", null);

    assertThat(events).extracting(NamedEvent::name).containsExactly(
        "message_start", "content_block_start", "ping",
        "content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta",
        "content_block_stop", "message_delta", "message_stop");
    // Anthropic names each event after its data's type.
    assertThat(events).allSatisfy(e -> assertThat(e.data().path("type").asText()).isEqualTo(e.name()));

    JsonNode message = events.get(0).data().path("message");
    assertThat(message.path("id").asText()).startsWith("msg_");
    assertThat(message.path("type").asText()).isEqualTo("message");
    assertThat(message.path("role").asText()).isEqualTo("assistant");
    assertThat(message.path("model").asText()).isEqualTo("claude-test");
    assertThat(message.path("content").isArray()).isTrue();
    assertThat(message.path("content")).isEmpty();
    assertThat(message.path("stop_reason").isNull()).isTrue();
    assertThat(message.path("usage").path("input_tokens").asInt()).isEqualTo(7); // "be brief" + "say hello to the world"
    assertThat(message.path("usage").path("output_tokens").asInt()).isEqualTo(1);

    JsonNode block = events.get(1).data();
    assertThat(block.path("index").asInt()).isZero();
    assertThat(block.path("content_block").path("type").asText()).isEqualTo("text");
    assertThat(block.path("content_block").path("text").asText()).isEmpty();

    List<NamedEvent> deltas = events.subList(3, 7);
    assertThat(deltas).allSatisfy(e -> {
      assertThat(e.data().path("index").asInt()).isZero();
      assertThat(e.data().path("delta").path("type").asText()).isEqualTo("text_delta");
    });
    assertThat(deltas).extracting(e -> e.data().path("delta").path("text").asText())
        .containsExactly("Hello", " world", " from", " Sluice.");

    assertThat(events.get(7).data().path("index").asInt()).isZero();
    JsonNode end = events.get(8).data();
    assertThat(end.path("delta").path("stop_reason").asText()).isEqualTo("end_turn");
    assertThat(end.path("delta").path("stop_sequence").isNull()).isTrue();
    assertThat(end.path("usage").path("output_tokens").asInt()).isEqualTo(4);
  }

  @Test
  void messagesMaxTokensIsTheExactTokenCountWithStopReasonMaxTokens() throws Exception {
    start(Duration.ZERO, "Hello world.");

    List<NamedEvent> events = messagesStream(",\"max_tokens\":100", null);

    assertThat(events).hasSize(3 + 100 + 3);
    String text = events.stream().filter(e -> e.name().equals("content_block_delta"))
        .map(e -> e.data().path("delta").path("text").asText()).collect(Collectors.joining());
    assertThat(text).startsWith("Hello world. Hello world.").endsWith(" world.");
    JsonNode end = events.get(events.size() - 2).data();
    assertThat(end.path("delta").path("stop_reason").asText()).isEqualTo("max_tokens");
    assertThat(end.path("usage").path("output_tokens").asInt()).isEqualTo(100);
  }

  @Test
  void messagesStreamIsPacedLikeAChatStream() throws Exception {
    start(Duration.ZERO, "one two three four five six seven eight nine ten");

    long before = System.nanoTime();
    List<NamedEvent> events = messagesStream(",\"max_tokens\":10", "20");

    assertThat(events).hasSize(3 + 10 + 3);
    // A lower bound only: timers never fire early, but may fire late.
    long spanMillis = (events.get(events.size() - 1).arrivedNanos() - before) / 1_000_000;
    assertThat(spanMillis).isGreaterThanOrEqualTo(10 * 20 / 2);
  }

  @Test
  void messagesWithoutStreamIsOneMessage() throws Exception {
    start(Duration.ofSeconds(10), "Hello world from Sluice."); // pacing must not apply here

    HttpResponse<String> res = CLIENT.send(postMessages(messagesBody(",\"max_tokens\":2"), null),
        HttpResponse.BodyHandlers.ofString());

    assertThat(res.statusCode()).isEqualTo(200);
    assertThat(res.headers().firstValue("content-type")).hasValue("application/json");
    JsonNode body = JSON.readTree(res.body());
    assertThat(body.path("id").asText()).startsWith("msg_");
    assertThat(body.path("type").asText()).isEqualTo("message");
    assertThat(body.path("role").asText()).isEqualTo("assistant");
    assertThat(body.path("model").asText()).isEqualTo("claude-test");
    assertThat(body.path("content")).hasSize(1);
    assertThat(body.path("content").path(0).path("type").asText()).isEqualTo("text");
    assertThat(body.path("content").path(0).path("text").asText()).isEqualTo("Hello world");
    assertThat(body.path("stop_reason").asText()).isEqualTo("max_tokens");
    assertThat(body.path("stop_sequence").isNull()).isTrue();
    assertThat(body.path("usage").path("input_tokens").asInt()).isEqualTo(7);
    assertThat(body.path("usage").path("output_tokens").asInt()).isEqualTo(2);

    JsonNode whole = JSON.readTree(CLIENT.send(postMessages(messagesBody(",\"max_tokens\":4"), null),
        HttpResponse.BodyHandlers.ofString()).body());
    assertThat(whole.path("content").path(0).path("text").asText()).isEqualTo("Hello world from Sluice.");
    assertThat(whole.path("stop_reason").asText()).isEqualTo("end_turn");
  }

  @Test
  void messagesErrorsAreAnthropicShaped() throws Exception {
    start(Duration.ZERO, "Hi.");

    for (String bad : List.of("{not json", "", "[1,2]",
        messagesBody("") /* no max_tokens: Anthropic requires it */,
        "{\"max_tokens\":5,\"messages\":[]}", "{\"model\":\"m\",\"max_tokens\":5}",
        messagesBody(",\"max_tokens\":0"), messagesBody(",\"max_tokens\":5,\"stream\":\"yes\""))) {
      HttpResponse<String> res = CLIENT.send(postMessages(bad, null), HttpResponse.BodyHandlers.ofString());
      assertThat(res.statusCode()).as(bad).isEqualTo(400);
      JsonNode body = JSON.readTree(res.body());
      assertThat(body.path("type").asText()).as(bad).isEqualTo("error");
      assertThat(body.path("error").path("type").asText()).as(bad).isEqualTo("invalid_request_error");
      assertThat(body.path("error").path("message").asText()).as(bad).isNotEmpty();
    }
    HttpResponse<String> noLimit = CLIENT.send(postMessages(messagesBody(""), null), HttpResponse.BodyHandlers.ofString());
    assertThat(JSON.readTree(noLimit.body()).path("error").path("message").asText()).contains("max_tokens");

    HttpResponse<String> interval = CLIENT.send(
        postMessages(messagesBody(",\"max_tokens\":5,\"stream\":true"), "soon"), HttpResponse.BodyHandlers.ofString());
    assertThat(interval.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(interval.body()).path("error").path("message").asText())
        .contains(MockModelServer.TOKEN_INTERVAL_HEADER);

    HttpResponse<String> get = CLIENT.send(
        HttpRequest.newBuilder(uri("/v1/messages")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(get.statusCode()).isEqualTo(405);
    assertThat(get.headers().firstValue("allow")).hasValue("POST");
    assertThat(JSON.readTree(get.body()).path("type").asText()).isEqualTo("error");
  }

  /** The official {@code @anthropic-ai/sdk} (its stream helper and a plain create) against the mock. */
  @Test
  void anthropicSdkReadsTheMocksMessagesStreamedAndWhole() throws Exception {
    start(Duration.ofMillis(1), "Hello world.");
    // The CLI asks for max_tokens 256: the mock's reply repeated up to exactly 256 tokens.
    String expected = MockModelServer.Tokens.of(MockModelServer.tokenize("Hello world."), 256).join();
    String base = "http://127.0.0.1:" + server.port();

    try (NodeSdkClient sdk = NodeSdkClient.start(Sdk.ANTHROPIC, base, "stream-text")) {
      JsonNode result = sdk.result();
      assertThat(result.path("id").asText()).startsWith("msg_");
      assertThat(result.path("model").asText()).isEqualTo("smart");
      assertThat(result.path("text").asText()).isEqualTo(expected);
      assertThat(result.path("stop_reason").asText()).isEqualTo("max_tokens");
      assertThat(result.path("usage").path("input_tokens").asInt()).isEqualTo(2); // "Say hello."
      assertThat(result.path("usage").path("output_tokens").asInt()).isEqualTo(256);
      // Every event but the ping (the SDK skips pings, and any event without an "event:" name).
      assertThat(result.path("events").asInt()).isEqualTo(2 + 256 + 3);
    }
    try (NodeSdkClient sdk = NodeSdkClient.start(Sdk.ANTHROPIC, base, "plain")) {
      JsonNode result = sdk.result();
      assertThat(result.path("text").asText()).isEqualTo(expected);
      assertThat(result.path("stop_reason").asText()).isEqualTo("max_tokens");
      assertThat(result.path("usage").path("output_tokens").asInt()).isEqualTo(256);
    }
  }

  @Test
  void tokensKeepTheirLeadingSpaceAndRoundTrip() {
    assertThat(MockModelServer.tokenize("Hello world")).containsExactly("Hello", " world");
    assertThat(MockModelServer.tokenize("  a\n b  ")).containsExactly("  a", "\n b  ");
    assertThat(MockModelServer.tokenize("")).isEmpty();
    String reply = MockModelServer.Options.DEFAULTS.reply();
    assertThat(String.join("", MockModelServer.tokenize(reply))).isEqualTo(reply);
    assertThat(MockModelServer.tokenize(reply)).hasSizeBetween(30, 60);
    assertThat(MockModelServer.Options.DEFAULTS.tokenInterval()).isEqualTo(Duration.ofMillis(60));
  }

  @Test
  void portInUseIsReported() {
    start(Duration.ZERO, "Hi.");
    assertThatThrownBy(() -> MockModelServer.start("127.0.0.1", server.port(), MockModelServer.Options.DEFAULTS))
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining(String.valueOf(server.port()));
  }

  private static String readUntilClosed(InputStream in) throws Exception {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    byte[] chunk = new byte[4096];
    try {
      for (int n; (n = in.read(chunk)) != -1; ) {
        buf.write(chunk, 0, n);
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("connection not closed; got: " + buf.toString(UTF_8), e);
    }
    return buf.toString(UTF_8);
  }

  @Test
  void burstHeader_unpacedEventsLeaveInBatches_sameEvents() throws Exception {
    start(Duration.ZERO, "one two three four five");
    String body = chatBody(",\"stream\":true,\"max_tokens\":200,\"stream_options\":{\"include_usage\":true}");
    String request = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + MockModelServer.BURST_HEADER + ": true\r\nConnection: close\r\nContent-Length: "
        + body.getBytes(UTF_8).length + "\r\n\r\n" + body;
    int reads = 0;
    ByteArrayOutputStream received = new ByteArrayOutputStream();
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(request.getBytes(UTF_8));
      InputStream in = socket.getInputStream();
      byte[] buf = new byte[256 * 1024];
      for (int n; (n = in.read(buf)) > 0; ) {
        received.write(buf, 0, n);
        reads++;
      }
    }
    String wire = received.toString(UTF_8);
    long events = wire.lines().filter(l -> l.startsWith("data: ")).count();
    assertThat(events).as("role + 200 tokens + finish + usage + [DONE]").isEqualTo(204);
    assertThat(wire).contains("\"usage\":{").endsWith("data: [DONE]\n\n\r\n0\r\n\r\n");
    // Flushed per batch of 64 events, not per event: a handful of reads, not 204.
    assertThat(reads).isLessThan(40);
  }
}
