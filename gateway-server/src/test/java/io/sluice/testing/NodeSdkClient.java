package io.sluice.testing;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * One run of an official SDK as a client ({@code src/test/node/openai-client.mjs} or
 * {@code anthropic-client.mjs}): it prints a {@code {"delta"}} line per text delta as it arrives,
 * then one {@code {"result"}} or {@code {"error"}} line. Without node or the installed SDKs the
 * test is skipped locally and fails when {@code CI=true} (as {@link SystemBinary} does).
 */
public final class NodeSdkClient implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path CLIENTS = Path.of("src/test/node");

  /** The SDK scripts. */
  public enum Sdk {
    OPENAI("openai-client.mjs", "openai"),
    ANTHROPIC("anthropic-client.mjs", "@anthropic-ai/sdk");

    final String script;
    final String module;

    Sdk(String script, String module) {
      this.script = script;
      this.module = module;
    }
  }

  private final Process process;
  private final BufferedReader out;
  private final List<String> deltas = new ArrayList<>();

  private NodeSdkClient(Process process) {
    this.process = process;
    this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
  }

  /**
   * Starts the SDK client. {@code baseUrl}: for OpenAI the URL up to {@code /v1}, for Anthropic the
   * server root; {@code mode}: stream-text, stream-tool, plain or plain-tool.
   */
  public static NodeSdkClient start(Sdk sdk, String baseUrl, String mode) throws IOException {
    Path node = SystemBinary.require("node");
    if (!Files.isDirectory(CLIENTS.resolve("node_modules").resolve(sdk.module))) {
      if ("true".equals(System.getenv("CI"))) {
        fail(sdk.module + " is not installed: .ci/run must run npm ci in " + CLIENTS);
      }
      Assumptions.abort("run `npm ci --prefix " + CLIENTS + "` to include this test");
    }
    Process p = new ProcessBuilder(node.toString(), CLIENTS.resolve(sdk.script).toString(), baseUrl, mode)
        .redirectErrorStream(true).start();
    return new NodeSdkClient(p);
  }

  /** The next text delta the SDK handed the application (blocks until it prints one). */
  public String nextDelta() throws IOException {
    JsonNode line = nextLine();
    if (!line.has("delta")) {
      throw new AssertionError("expected a delta, got " + line);
    }
    deltas.add(line.get("delta").asText());
    return line.get("delta").asText();
  }

  /** The final line ({@code {"result"}} or {@code {"error"}}); deltas before it are collected. */
  public JsonNode finalLine() throws IOException, InterruptedException {
    while (true) {
      JsonNode line = nextLine();
      if (line.has("delta")) {
        deltas.add(line.get("delta").asText());
        continue;
      }
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        throw new AssertionError("the SDK client did not exit after " + line);
      }
      return line;
    }
  }

  /** The result object; fails with the SDK's error when it raised one. */
  public JsonNode result() throws IOException, InterruptedException {
    JsonNode line = finalLine();
    if (!line.has("result")) {
      throw new AssertionError("the SDK failed: " + line);
    }
    return line.get("result");
  }

  /** The text deltas seen so far, in order. */
  public List<String> deltas() {
    return List.copyOf(deltas);
  }

  private JsonNode nextLine() throws IOException {
    String line = out.readLine();
    if (line == null) {
      throw new AssertionError("the SDK client exited without a result");
    }
    try {
      return JSON.readTree(line);
    } catch (IOException e) {
      throw new AssertionError("the SDK client printed something else: " + line + drain(), e);
    }
  }

  private String drain() throws IOException {
    StringBuilder rest = new StringBuilder();
    String line;
    while ((line = out.readLine()) != null) {
      rest.append('\n').append(line);
    }
    return rest.toString();
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
