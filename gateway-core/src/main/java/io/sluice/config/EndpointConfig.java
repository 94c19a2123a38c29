package io.sluice.config;

/**
 * One endpoint of an upstream, parsed from its {@code url}.
 *
 * @param scheme {@code http} or {@code https}
 * @param basePath the URL's path without a trailing slash ({@code ""} when none); it is prefixed
 *     to every forwarded path
 * @param url the URL as configured, without user info, for logs and metrics labels
 */
public record EndpointConfig(String url, String scheme, String host, int port, String basePath, int weight) {

  /** The value of the {@code Host} header the endpoint expects. */
  public String hostHeader() {
    boolean defaultPort = ("http".equals(scheme) && port == 80) || ("https".equals(scheme) && port == 443);
    String h = host.contains(":") ? "[" + host + "]" : host;
    return defaultPort ? h : h + ":" + port;
  }
}
