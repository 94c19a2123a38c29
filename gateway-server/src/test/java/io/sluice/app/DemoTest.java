package io.sluice.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.ConfigLoader;
import io.sluice.demo.MockModelServer;
import io.sluice.plugin.PluginRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The demo's own config, in front of the embedded mock, streams a whole chat completion. */
class DemoTest {
  @Test
  void demoConfigStreamsTheMockCompletionThroughTheGateway() throws Exception {
    try (MockModelServer mock = MockModelServer.start("127.0.0.1", 0,
            new MockModelServer.Options(Duration.ofMillis(1), "Hello streaming world"));
        Sluice sluice = Sluice.start(new ConfigLoader(name -> null, PluginRegistry.load())
            .parse(Demo.config(mock.port(), 0, 0), Path.of(".")))) {
      HttpRequest request = HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + sluice.port("public") + "/v1/chat/completions"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(
              "{\"model\":\"sluice-mock-1\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
          .build();
      HttpResponse<Stream<String>> response =
          HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofLines());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.headers().firstValue("content-type")).hasValueSatisfying(
          v -> assertThat(v).startsWith("text/event-stream"));
      List<String> data = response.body().filter(l -> l.startsWith("data: ")).toList();
      String text = String.join("", data);
      assertThat(text).contains("\"content\":\"Hello\"", "\"content\":\" streaming\"", "\"content\":\" world\"");
      assertThat(data.get(data.size() - 1)).isEqualTo("data: [DONE]");
      assertThat(text).as("no usage chunk unless the client asked").doesNotContain("\"choices\":[]");
    }
  }

  @Test
  void demoConfigHoldsARealtimeSessionWithTheMockThroughTheGateway() throws Exception {
    try (MockModelServer mock = MockModelServer.start("127.0.0.1", 0, MockModelServer.Options.DEFAULTS);
        Sluice sluice = Sluice.start(new ConfigLoader(name -> null, PluginRegistry.load())
            .parse(Demo.config(mock.port(), 0, 0), Path.of(".")))) {
      BlockingQueue<String> texts = new LinkedBlockingQueue<>();
      WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
          .buildAsync(URI.create("ws://127.0.0.1:" + sluice.port("public") + "/v1/realtime"),
              new WebSocket.Listener() {
                @Override
                public CompletionStage<?> onText(WebSocket w, CharSequence data,
                    boolean last) {
                  texts.add(data.toString());
                  w.request(1);
                  return null;
                }
              })
          .get(10, TimeUnit.SECONDS);
      ws.sendText("hello realtime world", true).get(10, TimeUnit.SECONDS);
      assertThat(texts.poll(10, TimeUnit.SECONDS)).contains("You said: hello realtime world");
      assertThat(texts.poll(10, TimeUnit.SECONDS))
          .contains("\"type\":\"response.done\"").contains("\"input_tokens\":3");
      ws.sendClose(1000, "").get(10, TimeUnit.SECONDS);
    }
  }
}
