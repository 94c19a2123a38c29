package io.sluice.upstream;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.QueryStringEncoder;
import io.sluice.config.Provider;
import io.sluice.config.UpstreamConfig;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * A request made ready for an upstream's provider: its API key where the provider wants it, and
 * the path its API takes.
 */
public final class ProviderRequests {
  static final String X_API_KEY = "x-api-key";
  static final String ANTHROPIC_VERSION = "anthropic-version";
  static final String AZURE_API_KEY = "api-key";

  private ProviderRequests() {}

  /**
   * Puts the upstream's API key on the request. The client's own credentials (meant for the
   * gateway, or for another provider) are removed first: a provider key must never travel next
   * to — or be replaced by — whatever the client sent.
   */
  public static void authorize(UpstreamConfig upstream, HttpHeaders h) {
    if (upstream.provider() == Provider.ANTHROPIC && !h.contains(ANTHROPIC_VERSION)) {
      h.set(ANTHROPIC_VERSION, Provider.ANTHROPIC_VERSION);
    }
    if (upstream.apiKey() == null) {
      return;
    }
    h.remove(HttpHeaderNames.AUTHORIZATION);
    h.remove(X_API_KEY);
    h.remove(AZURE_API_KEY);
    String key = upstream.apiKey().reveal();
    switch (upstream.provider().auth()) {
      case BEARER -> h.set(HttpHeaderNames.AUTHORIZATION, "Bearer " + key);
      case ANTHROPIC -> h.set(X_API_KEY, key);
      case AZURE -> h.set(AZURE_API_KEY, key);
    }
  }

  /**
   * The path and query to send for a request the client sent to {@code pathAndQuery} (after the
   * route's rewrite), for a target serving {@code model} (null when the request names none).
   *
   * <p>Azure OpenAI: {@code /v1/chat/completions} → {@code /openai/deployments/<model>/chat/completions?api-version=…}.
   * Gemini's base URL carries its version: {@code /v1/chat/completions} → {@code /chat/completions}.
   */
  public static String path(UpstreamConfig upstream, String pathAndQuery, String model) {
    Provider provider = upstream.provider();
    if (provider != Provider.AZURE_OPENAI && !provider.stripsV1()) {
      return pathAndQuery;
    }
    int q = pathAndQuery.indexOf('?');
    String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
    String query = q < 0 ? "" : pathAndQuery.substring(q + 1);
    if (path.startsWith("/v1/")) {
      path = path.substring(3);
    }
    if (provider.stripsV1()) {
      return path + (query.isEmpty() ? "" : "?" + query);
    }
    QueryStringEncoder out = new QueryStringEncoder(
        "/openai/deployments/" + (model == null ? "" : encodeSegment(model)) + path);
    out.addParam("api-version", upstream.apiVersion());
    String encoded = out.toString();
    return query.isEmpty() ? encoded : encoded + "&" + query;
  }

  /** A deployment name as one path segment (URLEncoder is for forms: its '+' is not a space in a path). */
  private static String encodeSegment(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
