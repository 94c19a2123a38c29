package io.sluice.testing;

import io.sluice.plugin.RequestContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A plain {@link RequestContext} for plugin unit tests: set what the request has, read what the
 * plugin did. The one fake request of the project: gateway-plugins' tests get it from this
 * module's test jar (see gateway-core's pom).
 */
public final class FakeRequest implements RequestContext {
  private String route = "chat";
  private String method = "POST";
  private String path = "/v1/chat/completions";
  private String clientIp = "127.0.0.1";
  private final Map<String, List<String>> headers = new LinkedHashMap<>();
  private final Map<String, String> query = new LinkedHashMap<>();
  private final Map<String, String> cookies = new LinkedHashMap<>();
  private String consumer;
  private byte[] body;
  public final List<String> removedHeaders = new ArrayList<>();
  public final List<String> removedQueryParams = new ArrayList<>();
  public final Map<String, String> responseHeaders = new LinkedHashMap<>();

  public FakeRequest route(String route) {
    this.route = route;
    return this;
  }

  public FakeRequest method(String method) {
    this.method = method;
    return this;
  }

  public FakeRequest path(String path) {
    this.path = path;
    return this;
  }

  public FakeRequest clientIp(String ip) {
    this.clientIp = ip;
    return this;
  }

  public FakeRequest header(String name, String value) {
    headers.computeIfAbsent(name.toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(value);
    return this;
  }

  public FakeRequest query(String name, String value) {
    query.put(name, value);
    return this;
  }

  public FakeRequest cookie(String name, String value) {
    cookies.put(name, value);
    return this;
  }

  private long defaultMaxTokens;

  /** The route's {@code default-max-tokens}. */
  public FakeRequest defaultMaxTokens(long tokens) {
    this.defaultMaxTokens = tokens;
    return this;
  }

  @Override
  public long defaultMaxTokens() {
    return defaultMaxTokens;
  }

  public FakeRequest body(String json) {
    this.body = json.getBytes(StandardCharsets.UTF_8);
    return this;
  }

  @Override
  public String route() {
    return route;
  }

  @Override
  public String method() {
    return method;
  }

  @Override
  public String path() {
    return path;
  }

  @Override
  public String header(String name) {
    List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  @Override
  public List<String> headers(String name) {
    return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
  }

  @Override
  public String queryParam(String name) {
    return query.get(name);
  }

  @Override
  public String cookie(String name) {
    return cookies.get(name);
  }

  @Override
  public String clientIp() {
    return clientIp;
  }

  @Override
  public boolean isWebSocketUpgrade() {
    return "websocket".equalsIgnoreCase(header("upgrade"));
  }

  @Override
  public String consumer() {
    return consumer;
  }

  @Override
  public void consumer(String name) {
    this.consumer = name;
  }

  @Override
  public void removeRequestHeader(String name) {
    removedHeaders.add(name);
    headers.remove(name.toLowerCase(Locale.ROOT));
  }

  @Override
  public void removeQueryParam(String name) {
    removedQueryParams.add(name);
    query.remove(name);
  }

  @Override
  public void addResponseHeader(String name, String value) {
    responseHeaders.put(name.toLowerCase(Locale.ROOT), value);
  }

  @Override
  public byte[] body() {
    return body;
  }
}
