package io.sluice.plugins.cors;

import java.time.Duration;
import java.util.List;

/**
 * The validated {@code cors} settings.
 *
 * @param allowOrigins normalised origins ({@code scheme://host[:port]}, lower case, no default
 *     port), or exactly {@code ["*"]}
 * @param allowMethods sent as {@code Access-Control-Allow-Methods}
 * @param allowHeaders the defaults plus the configured extras, sent as
 *     {@code Access-Control-Allow-Headers}
 * @param exposeHeaders sent as {@code Access-Control-Expose-Headers}
 * @param maxAge how long a browser may cache a preflight answer
 */
public record CorsSettings(List<String> allowOrigins, List<String> allowMethods, List<String> allowHeaders,
    List<String> exposeHeaders, boolean allowCredentials, Duration maxAge) {

  public CorsSettings {
    allowOrigins = List.copyOf(allowOrigins);
    allowMethods = List.copyOf(allowMethods);
    allowHeaders = List.copyOf(allowHeaders);
    exposeHeaders = List.copyOf(exposeHeaders);
  }

  /** True when any origin is allowed ({@code allow-origins: ["*"]}). */
  public boolean anyOrigin() {
    return allowOrigins.equals(List.of(CorsFactory.ANY));
  }
}
