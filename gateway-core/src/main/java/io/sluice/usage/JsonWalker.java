package io.sluice.usage;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.util.concurrent.FastThreadLocal;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Walks a JSON token stream keeping the path of each value, for blocking and non-blocking Jackson
 * parsers alike (one token at a time, no recursion, state kept between calls). Paths: {@code ""}
 * for the root, {@code a.b} for fields, {@code a[]} for every element of array {@code a}. A visitor
 * skips a whole container by returning false from {@link Visitor#enter}; skipped subtrees cost a
 * depth counter and no string decoding (Jackson decodes strings lazily).
 */
final class JsonWalker {
  /** Containers nested deeper than this are skipped. */
  static final int MAX_DEPTH = 32;

  interface Visitor {
    /** A container starts at {@code path}; false skips it (and no {@link #exit} follows). */
    default boolean enter(String path, boolean array) {
      return true;
    }

    /** A scalar (string, number, boolean, null) at {@code path}; {@code p} is positioned on it. */
    default void value(String path, JsonToken token, JsonParser p) throws IOException {}

    /** The container at {@code path} ended. */
    default void exit(String path, boolean array) {}
  }

  private Visitor visitor; // final but for the thread's one-shot walker (walk), lent to one document at a time
  private boolean lent;
  private final String[] paths = new String[MAX_DEPTH];
  private final boolean[] arrays = new boolean[MAX_DEPTH];
  private int depth;
  private int skip;
  private String field;
  private boolean complete;
  private boolean started;

  JsonWalker(Visitor visitor) {
    this.visitor = visitor;
  }

  /**
   * The thread's walker for a whole document parsed in one call ({@code p} over all of it): the
   * request body and every parsed event used to build a walker of their own (two path arrays,
   * ~250 bytes) per parse. A walk started from inside a visitor gets a walker of its own.
   *
   * @return whether the document was one complete JSON value
   */
  static boolean walk(JsonParser p, Visitor visitor) throws IOException {
    JsonWalker walker = ONE_SHOT.get();
    if (walker.lent) {
      walker = new JsonWalker(visitor);
    }
    walker.lent = true;
    walker.visitor = visitor;
    walker.reset();
    try {
      JsonToken t;
      while ((t = p.nextToken()) != null) {
        walker.token(p, t);
      }
      return walker.complete();
    } finally {
      walker.visitor = null; // not kept alive by the thread
      Arrays.fill(walker.paths, null);
      walker.lent = false;
    }
  }

  private static final FastThreadLocal<JsonWalker> ONE_SHOT = new FastThreadLocal<>() {
    @Override
    protected JsonWalker initialValue() {
      return new JsonWalker(null);
    }
  };

  /** True once the root value ended. */
  boolean complete() {
    return complete;
  }

  void token(JsonParser p, JsonToken t) throws IOException {
    if (complete) {
      throw new IOException("trailing content after the JSON value");
    }
    if (skip > 0) {
      if (t.isStructStart()) {
        skip++;
      } else if (t.isStructEnd()) {
        skip--;
        if (skip == 0 && depth == 0) {
          complete = true;
        }
      }
      return;
    }
    switch (t) {
      case FIELD_NAME -> field = p.currentName();
      case START_OBJECT, START_ARRAY -> {
        started = true;
        boolean array = t == JsonToken.START_ARRAY;
        String path = childPath();
        if (depth >= MAX_DEPTH || !visitor.enter(path, array)) {
          skip = 1;
          return;
        }
        paths[depth] = path;
        arrays[depth] = array;
        depth++;
      }
      case END_OBJECT, END_ARRAY -> {
        depth--;
        visitor.exit(paths[depth], arrays[depth]);
        if (depth == 0) {
          complete = true;
        }
      }
      case NOT_AVAILABLE -> { }
      default -> {
        String path = childPath();
        visitor.value(path, t, p);
        if (depth == 0 && !started) {
          complete = true;
        }
      }
    }
  }

  /** Ready for the next document. */
  void reset() {
    depth = 0;
    skip = 0;
    field = null;
    complete = false;
    started = false;
  }

  private String childPath() {
    if (depth == 0) {
      return "";
    }
    String parent = paths[depth - 1];
    String name = arrays[depth - 1] ? ARRAY_ELEMENT : field;
    return PATHS.get().child(parent, name);
  }

  private static final String ARRAY_ELEMENT = "[]";

  /**
   * The paths built so far, per thread rather than per walker: the requests a gateway reads and the
   * events it parses repeat a few shapes (a chat request's {@code messages[].content}, a usage
   * chunk's {@code usage.prompt_tokens}), so a path is built once per event loop, not once per
   * request — a request's walker used to build its own cache, maps and strings (~1-2 KB), and then
   * drop it. Parents come from this cache and Jackson interns field names, so a lookup hashes
   * cached strings and allocates nothing. Bounded: hostile JSON with endless new names fills it
   * once, and the paths it has no room for are built per value (correct, only not cached).
   */
  private static final FastThreadLocal<PathCache> PATHS = new FastThreadLocal<>() {
    @Override
    protected PathCache initialValue() {
      return new PathCache();
    }
  };

  private static final class PathCache {
    private static final int MAX_PATHS = 1024;
    private static final int MAX_PATH_LENGTH = 256; // a hostile name is not kept for the thread's life
    private final Map<String, Map<String, String>> children = new HashMap<>();
    private int size;

    String child(String parent, String name) {
      Map<String, String> of = children.get(parent);
      String path = of == null ? null : of.get(name);
      if (path == null) {
        path = name == ARRAY_ELEMENT ? parent + "[]" : parent.isEmpty() ? name : parent + '.' + name;
        if (size < MAX_PATHS && path.length() <= MAX_PATH_LENGTH) {
          size++;
          children.computeIfAbsent(parent, k -> new HashMap<>()).put(name, path);
        }
      }
      return path;
    }
  }
}
