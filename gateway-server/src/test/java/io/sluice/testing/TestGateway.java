package io.sluice.testing;

import io.sluice.app.Sluice;
import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.plugin.PluginRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * A whole gateway started in-process from YAML, on ephemeral ports, for end-to-end tests over
 * real sockets. The YAML needs only upstreams and routes: listener {@code public} and the admin
 * listener are added on port 0 unless the text already has them.
 */
public final class TestGateway implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private final Sluice sluice;

  private TestGateway(Sluice sluice) {
    this.sluice = sluice;
  }

  public static TestGateway start(String yaml) throws Exception {
    return start(yaml, Map.of());
  }

  public static TestGateway start(String yaml, Map<String, String> env) throws Exception {
    return new TestGateway(Sluice.start(parse(yaml, env)));
  }

  /** A gateway whose plugins read this clock (budget periods, windows advanced by the test). */
  public static TestGateway start(String yaml, Map<String, String> env, Clock clock) throws Exception {
    return new TestGateway(Sluice.start(parse(yaml, env), clock));
  }

  private static GatewayConfig parse(String yaml, Map<String, String> env) throws Exception {
    String full = yaml;
    if (!yaml.contains("listeners:")) {
      full = "listeners: [ { name: public, host: 127.0.0.1, port: 0 } ]\n" + full;
    }
    if (!yaml.contains("admin:")) {
      full = "admin: { host: 127.0.0.1, port: 0 }\n" + full;
    }
    return new ConfigLoader(env::get, PluginRegistry.load()).parse(full, Path.of("."));
  }

  /** A gateway that reads (and reloads) this config file. */
  public static TestGateway startFromFile(Path file) throws Exception {
    ConfigLoader loader = new ConfigLoader(name -> null, PluginRegistry.load());
    return new TestGateway(Sluice.start(loader.load(file), file, loader));
  }

  /** POST on the admin listener. */
  public HttpResponse<String> adminPost(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort() + path))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }

  public int port() {
    return sluice.port("public");
  }

  public int adminPort() {
    return sluice.adminPort();
  }

  public Sluice sluice() {
    return sluice;
  }

  public String url(String path) {
    return "http://127.0.0.1:" + port() + path;
  }

  /** GET on the admin listener. */
  public HttpResponse<String> admin(String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort() + path));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Override
  public void close() {
    sluice.close();
  }
}
