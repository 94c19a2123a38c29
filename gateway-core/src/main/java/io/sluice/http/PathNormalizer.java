package io.sluice.http;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;

/**
 * Normalises a request path before route matching: collapses {@code //}, resolves {@code .} and
 * {@code ..}, and refuses encoded slashes, dots and backslashes, so that a path can never reach a
 * route (or the admin listener) other than the one it visibly names.
 */
public final class PathNormalizer {
  private PathNormalizer() {}

  /** Thrown for a path that must be refused with 400 {@code bad_path}. */
  public static final class BadPathException extends Exception {
    public BadPathException(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * @param rawPath the request-target's path (no query), as received
   * @return the normalised path, always starting with {@code /}; {@code rawPath} itself when it is
   *     already normal
   */
  public static String normalize(String rawPath) throws BadPathException {
    if (rawPath.isEmpty() || rawPath.charAt(0) != '/') {
      throw new BadPathException("the request path must start with '/'");
    }
    String lower = rawPath.toLowerCase(Locale.ROOT);
    if (lower.contains("%2f") || lower.contains("%2e") || lower.contains("%5c")
        || rawPath.indexOf('\\') >= 0) {
      throw new BadPathException("encoded slashes, dots or backslashes are not allowed in the path");
    }
    for (int i = 0; i < rawPath.length(); i++) {
      char c = rawPath.charAt(i);
      if (c <= 0x20 || c == 0x7f || c == '#') {
        throw new BadPathException("the path contains a character that is not allowed");
      }
    }
    if (alreadyNormal(rawPath)) {
      // Nearly every request's path: the general resolution below would rebuild the very same
      // string (a deque, a substring per segment and a builder per request) to find that out.
      return rawPath;
    }
    return resolve(rawPath);
  }

  /**
   * Whether resolving the (valid) path leaves it as it is: no empty segment but a trailing slash's,
   * no {@code .} or {@code ..} segment.
   */
  static boolean alreadyNormal(String path) {
    int n = path.length();
    int start = 1;
    while (start < n) {
      int end = path.indexOf('/', start);
      if (end < 0) {
        end = n;
      }
      int length = end - start;
      if (length == 0 || path.charAt(start) == '.' && (length == 1 || length == 2 && path.charAt(start + 1) == '.')) {
        return false;
      }
      start = end + 1;
    }
    return true;
  }

  /** Resolves a valid path's empty, {@code .} and {@code ..} segments (the general case). */
  static String resolve(String rawPath) throws BadPathException {
    Deque<String> segments = new ArrayDeque<>();
    int start = 1;
    while (start <= rawPath.length()) {
      int end = rawPath.indexOf('/', start);
      if (end < 0) {
        end = rawPath.length();
      }
      String segment = rawPath.substring(start, end);
      if (segment.equals("..")) {
        if (segments.isEmpty()) {
          throw new BadPathException("the path climbs above the root");
        }
        segments.removeLast();
      } else if (!segment.isEmpty() && !segment.equals(".")) {
        segments.addLast(segment);
      }
      start = end + 1;
    }
    boolean trailingSlash = rawPath.length() > 1
        && (rawPath.endsWith("/") || rawPath.endsWith("/.") || rawPath.endsWith("/.."));
    StringBuilder out = new StringBuilder(rawPath.length());
    for (String segment : segments) {
      out.append('/').append(segment);
    }
    if (out.length() == 0) {
      return "/";
    }
    if (trailingSlash) {
      out.append('/');
    }
    // An already normal path (nearly every request's) is returned as the very string received: the
    // exchange, the routed request and the upstream request then share the request's own string
    // for as long as a stream lasts, rather than holding a copy each (gateway-server/docs/memory.md).
    return rawPath.contentEquals(out) ? rawPath : out.toString();
  }
}
