package io.sluice.usage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Paths a walker reports, with the per-thread path cache empty, warm, full, or passed a long name. */
class JsonWalkerTest {
  private static final JsonFactory JSON = new JsonFactory();

  /** Every container and scalar path of {@code json}, in document order ({@code +} marks an array). */
  private static List<String> paths(String json) throws IOException {
    List<String> out = new ArrayList<>();
    JsonWalker walker = new JsonWalker(new JsonWalker.Visitor() {
      @Override
      public boolean enter(String path, boolean array) {
        out.add((array ? "+" : "") + path);
        return true;
      }

      @Override
      public void value(String path, JsonToken token, JsonParser p) {
        out.add(path);
      }
    });
    try (JsonParser p = JSON.createParser(json)) {
      for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
        walker.token(p, t);
      }
    }
    assertTrue(walker.complete());
    return out;
  }

  private static final String CHAT = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
      + "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"x\"}]}],\"stream\":true}";
  private static final List<String> CHAT_PATHS = List.of("", "model", "+messages", "messages[]",
      "messages[].role", "messages[].content", "messages[]", "messages[].role", "+messages[].content",
      "messages[].content[]", "messages[].content[].type", "messages[].content[].text", "stream");

  @Test
  void theSamePathsWhetherBuiltOrTakenFromTheThreadsCache() throws IOException {
    assertEquals(CHAT_PATHS, paths(CHAT));
    assertEquals(CHAT_PATHS, paths(CHAT)); // the second request's paths come from the cache
  }

  @Test
  void aFullCacheAndLongNamesStillGiveTheRightPaths() throws IOException {
    StringBuilder hostile = new StringBuilder("{");
    for (int i = 0; i < 3000; i++) {
      hostile.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":{\"v\":1}");
    }
    List<String> many = paths(hostile.append('}').toString());
    assertEquals("k2999.v", many.get(many.size() - 1));
    String longName = "n".repeat(1000);
    assertEquals(List.of("", longName, longName + ".x"), paths("{\"" + longName + "\":{\"x\":2}}"));
    assertEquals(List.of("", longName, longName + ".x"), paths("{\"" + longName + "\":{\"x\":2}}"));
    assertEquals(CHAT_PATHS, paths(CHAT)); // new shapes after the cache filled up: built per value
  }

  /** A visitor that records paths, and walks {@code inner} (with the one-shot walk) when it meets {@code at}. */
  private static JsonWalker.Visitor recorder(List<String> out, String at, String inner, List<String> innerOut) {
    return new JsonWalker.Visitor() {
      @Override
      public boolean enter(String path, boolean array) {
        out.add((array ? "+" : "") + path);
        return true;
      }

      @Override
      public void value(String path, JsonToken token, JsonParser p) throws IOException {
        out.add(path);
        if (path.equals(at)) {
          try (JsonParser q = JSON.createParser(inner)) {
            assertTrue(JsonWalker.walk(q, recorder(innerOut, null, null, null)));
          }
        }
      }
    };
  }

  @Test
  void oneShotWalk_theThreadsWalker_reusedAndSafeWhenAVisitorWalksAnother() throws IOException {
    List<String> outer = new ArrayList<>();
    List<String> inner = new ArrayList<>();
    try (JsonParser p = JSON.createParser(CHAT)) {
      assertTrue(JsonWalker.walk(p, recorder(outer, "messages[].role", "{\"a\":[1,{\"b\":2}]}", inner)));
    }
    assertEquals(CHAT_PATHS, outer);
    assertEquals(List.of("", "+a", "a[]", "a[]", "a[].b", "", "+a", "a[]", "a[]", "a[].b"), inner);
    List<String> again = new ArrayList<>();
    try (JsonParser p = JSON.createParser(CHAT)) {
      assertTrue(JsonWalker.walk(p, recorder(again, null, null, null)));
    }
    assertEquals(CHAT_PATHS, again);
    try (JsonParser p = JSON.createParser("{\"a\":[1,2]")) {
      assertFalse(JsonWalker.walk(p, recorder(new ArrayList<>(), null, null, null)));
    } catch (IOException expected) {
      // truncated input: Jackson's end-of-input error; the thread's walker must still be free after it
    }
    List<String> afterFailure = new ArrayList<>();
    try (JsonParser p = JSON.createParser(CHAT)) {
      assertTrue(JsonWalker.walk(p, recorder(afterFailure, null, null, null)));
    }
    assertEquals(CHAT_PATHS, afterFailure);
  }
}
