package io.sluice.plugins.ratelimit;

import io.sluice.http.HttpSyntax;
import io.sluice.plugin.RequestContext;
import java.util.Locale;

/**
 * What a rule counts by: {@code consumer}, {@code ip}, {@code header:NAME}, {@code query:NAME} or
 * {@code cookie:NAME}.
 *
 * @param name the header, query parameter or cookie name; null for consumer and ip
 */
public record LimitBy(Kind kind, String name) {
  /** The source of the key. */
  public enum Kind { CONSUMER, IP, HEADER, QUERY, COOKIE }

  static final String FORM = "consumer, ip, header:NAME, query:NAME or cookie:NAME";

  /** Parses the YAML form; null when it is not one of {@link #FORM}. */
  static LimitBy parse(String text) {
    String t = text.trim();
    if (t.equals("consumer")) {
      return new LimitBy(Kind.CONSUMER, null);
    }
    if (t.equals("ip")) {
      return new LimitBy(Kind.IP, null);
    }
    int colon = t.indexOf(':');
    if (colon < 0) {
      return null;
    }
    String name = t.substring(colon + 1);
    if (!HttpSyntax.isToken(name)) {
      return null;
    }
    return switch (t.substring(0, colon)) {
      case "header" -> new LimitBy(Kind.HEADER, name.toLowerCase(Locale.ROOT));
      case "query" -> new LimitBy(Kind.QUERY, name);
      case "cookie" -> new LimitBy(Kind.COOKIE, name);
      default -> null;
    };
  }

  /** The request's value for this key; null or empty when it has none. */
  String valueOf(RequestContext request) {
    return switch (kind) {
      case CONSUMER -> request.consumer();
      case IP -> request.clientIp();
      case HEADER -> request.header(name);
      case QUERY -> request.queryParam(name);
      case COOKIE -> request.cookie(name);
    };
  }


  @Override
  public String toString() {
    return name == null ? kind.name().toLowerCase(Locale.ROOT) : kind.name().toLowerCase(Locale.ROOT) + ":" + name;
  }
}
