package io.sluice.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.RequestContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * Adapts one Netty request to the plugins' plain {@link RequestContext}, and remembers what the
 * plugins asked for (removed headers and query parameters, response headers, the consumer) so
 * the exchange can apply it. Confined to the request's event loop.
 */
final class PluginRequest implements RequestContext, Plugin.ResponseHeaders {
  private final String route;
  private HttpRequest request; // null once the answer's head was sent (RequestContext#header)
  private final String method;
  private final String path;
  private final String clientIp;
  private String query; // raw, with the leading '?', or ""
  private Map<String, List<String>> decodedQuery;
  private List<String[]> responseHeaders; // made when a plugin adds one (few do)
  private String consumer;
  private ByteBuf body;
  private HttpHeaders responseView;
  private final Executor loop;
  private boolean generates = true;
  private long defaultMaxTokens;

  PluginRequest(String route, HttpRequest request, String path, String query, String clientIp, Executor loop) {
    this.loop = loop;
    this.route = route;
    this.request = request;
    this.method = request.method().name();
    this.path = path;
    this.query = query;
    this.clientIp = clientIp;
  }

  /**
   * The head of the upstream's answer was sent: the request's head (its headers) is let go, as
   * {@code RequestContext#header} documents — a held stream would keep it for its whole life.
   */
  void answerCommitted() {
    request = null;
  }

  /** Makes the request body visible to plugins that run after it was read. */
  void body(ByteBuf body) {
    this.body = body;
  }

  /** The query to forward, without the parameters plugins removed. */
  String query() {
    return query;
  }

  @Override
  public String route() {
    return route;
  }

  /** The route's {@code default-max-tokens} (0: none). */
  void defaultMaxTokens(long tokens) {
    this.defaultMaxTokens = tokens;
  }

  @Override
  public long defaultMaxTokens() {
    return defaultMaxTokens;
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
    return request == null ? null : request.headers().get(name);
  }

  @Override
  public List<String> headers(String name) {
    return request == null ? List.of() : request.headers().getAll(name);
  }

  @Override
  public String queryParam(String name) {
    if (decodedQuery == null) {
      decodedQuery = query.isEmpty() ? Map.of() : new QueryStringDecoder(query, StandardCharsets.UTF_8, false).parameters();
    }
    List<String> values = decodedQuery.get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  @Override
  public String cookie(String name) {
    if (request == null) {
      return null;
    }
    for (String header : request.headers().getAll(HttpHeaderNames.COOKIE)) {
      for (Cookie c : ServerCookieDecoder.LAX.decode(header)) {
        if (c.name().equals(name)) {
          return c.value();
        }
      }
    }
    return null;
  }

  @Override
  public String clientIp() {
    return clientIp;
  }

  @Override
  public boolean generates() {
    return generates;
  }

  /** The gateway answers this request from a stream session: nothing reaches the model. */
  void answeredFromSession() {
    generates = false;
  }

  @Override
  public boolean isWebSocketUpgrade() {
    return request != null
        && request.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
  }

  @Override
  public Executor executor() {
    return loop;
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
    if (request != null) {
      request.headers().remove(name);
    }
  }

  @Override
  public void removeQueryParam(String name) {
    if (query.isEmpty()) {
      return;
    }
    StringBuilder kept = new StringBuilder();
    for (String pair : query.substring(1).split("&")) {
      int eq = pair.indexOf('=');
      String rawName = eq < 0 ? pair : pair.substring(0, eq);
      if (QueryStringDecoder.decodeComponent(rawName, StandardCharsets.UTF_8).equals(name)) {
        continue;
      }
      kept.append(kept.length() == 0 ? '?' : '&').append(pair);
    }
    query = kept.toString();
    decodedQuery = null;
  }

  @Override
  public void addResponseHeader(String name, String value) {
    if (responseHeaders == null) {
      responseHeaders = new ArrayList<>(2);
    }
    responseHeaders.add(new String[] {name, value});
  }

  @Override
  public byte[] body() {
    return body == null ? null : ByteBufUtil.getBytes(body);
  }

  /** Applies the headers plugins added to a response about to be sent. */
  void applyResponseHeaders(HttpHeaders headers) {
    if (responseHeaders == null) {
      return;
    }
    for (String[] h : responseHeaders) {
      headers.add(h[0], h[1]);
    }
  }

  /** The response headers plugins may edit in {@code onResponseHeaders}. */
  Plugin.ResponseHeaders responseView(HttpHeaders headers) {
    this.responseView = headers;
    return this;
  }

  @Override
  public String get(String name) {
    return responseView.get(name);
  }

  @Override
  public void set(String name, String value) {
    responseView.set(name, value);
  }

  @Override
  public void remove(String name) {
    responseView.remove(name);
  }
}
