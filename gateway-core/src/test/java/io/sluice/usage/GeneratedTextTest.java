package io.sluice.usage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The text of streams whose bytes share the thread's stage: however their pieces interleave, each
 * stream counts the tokens of its own text, as when it is the only stream.
 */
class GeneratedTextTest {
  /** JSON string bodies as they appear in events: escapes, non-ASCII, a surrogate pair. */
  private static final String[] PIECES = {"Hello", " world", "\\n", " caf\\u00e9", " déjà", " \\\"quoted\\\"",
      " 😀", " \\ud83d\\ude00", " and", " so", " on", "."};

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static void append(GeneratedText text, String piece) {
    // the piece inside a larger array, as it lies in an event
    byte[] event = bytes("{\"content\":\"" + piece + "\"}");
    int from = "{\"content\":\"".length();
    text.appendEscaped(event, from, event.length - 2);
  }

  @Test
  void interleavedStreamsCountTheirOwnTextExactly() {
    GeneratedText a = new GeneratedText();
    GeneratedText b = new GeneratedText();
    StringBuilder textA = new StringBuilder();
    StringBuilder textB = new StringBuilder();
    Random random = new Random(15);
    for (int i = 0; i < 200; i++) {
      String piece = PIECES[random.nextInt(PIECES.length)];
      boolean toA = random.nextInt(3) != 0;
      append(toA ? a : b, piece);
      (toA ? textA : textB).append(piece);
    }
    assertThat(a.tokens()).isEqualTo(TokenEstimator.count(unescape(textA)));
    assertThat(b.tokens()).isEqualTo(TokenEstimator.count(unescape(textB)));
    append(a, " more");
    textA.append(" more");
    assertThat(a.tokens()).as("appending after a read").isEqualTo(TokenEstimator.count(unescape(textA)));
    assertThat(b.tokens()).as("reading again").isEqualTo(TokenEstimator.count(unescape(textB)));
  }

  /** Past the decode threshold and with pieces too large for the stage: the same count as each stream alone. */
  @Test
  void longAndHugePiecesInterleavedCountAsEachStreamAlone() {
    Random random = new Random(7);
    List<String> piecesA = new ArrayList<>();
    List<String> piecesB = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      String piece = random.nextInt(200) == 0 ? " long".repeat(1000) : PIECES[random.nextInt(PIECES.length)];
      (random.nextBoolean() ? piecesA : piecesB).add(piece);
    }
    GeneratedText a = new GeneratedText();
    GeneratedText b = new GeneratedText();
    int ia = 0;
    int ib = 0;
    while (ia < piecesA.size() || ib < piecesB.size()) {
      if (ib >= piecesB.size() || (ia < piecesA.size() && random.nextBoolean())) {
        append(a, piecesA.get(ia++));
      } else {
        append(b, piecesB.get(ib++));
      }
    }
    GeneratedText aloneA = new GeneratedText();
    piecesA.forEach(p -> append(aloneA, p));
    long tokensA = aloneA.tokens();
    GeneratedText aloneB = new GeneratedText();
    piecesB.forEach(p -> append(aloneB, p));
    long tokensB = aloneB.tokens();
    assertThat(tokensA).isGreaterThan(1000);
    assertThat(a.tokens()).isEqualTo(tokensA);
    assertThat(b.tokens()).isEqualTo(tokensB);
  }

  /** Kept off the heap: the same count as on the heap, however the streams interleave and grow. */
  @Test
  void offHeapTextCountsTheSameAsOnTheHeap() {
    Random random = new Random(11);
    GeneratedText heapA = new GeneratedText();
    GeneratedText heapB = new GeneratedText();
    GeneratedText directA = offHeap(new Counting());
    GeneratedText directB = offHeap(new Counting());
    try {
      for (int i = 0; i < 4000; i++) {
        String piece = random.nextInt(300) == 0 ? " long".repeat(1000) : PIECES[random.nextInt(PIECES.length)];
        boolean toA = random.nextBoolean();
        append(toA ? directA : directB, piece);
        append(toA ? heapA : heapB, piece);
        if (i % 1000 == 999) {
          assertThat(directA.tokens()).isEqualTo(heapA.tokens()); // a read midway, then more text
        }
      }
      assertThat(directA.tokens()).isGreaterThan(1000).isEqualTo(heapA.tokens());
      assertThat(directB.tokens()).isEqualTo(heapB.tokens());
    } finally {
      directA.release();
      directB.release();
    }
  }

  /**
   * Released (the exchange ended): its direct buffer is freed whether its latest bytes were in the
   * thread's stage or its own buffer, the stage is free for the next stream, and text that still
   * comes is not kept (no buffer made after the release: nothing left to free).
   */
  @Test
  void releaseFreesTheBufferAndKeepsNothingAfter() {
    Counting alloc = new Counting();
    GeneratedText a = offHeap(alloc);
    GeneratedText b = offHeap(alloc);
    append(a, "Hello");
    append(b, " world"); // takes the stage: a's bytes move to a's own buffer
    append(a, " again"); // takes it back: b's move to b's
    assertThat(alloc.made).hasSize(2);
    assertThat(alloc.made).allSatisfy(buf -> assertThat(buf.isDirect()).isTrue());
    long countedA = a.tokens();
    a.release();
    b.release();
    assertThat(alloc.made).allSatisfy(buf -> assertThat(buf.refCnt()).isZero());
    a.release(); // idempotent
    append(a, " late");
    append(b, " late");
    GeneratedText c = offHeap(alloc);
    append(c, "next");
    append(a, " later"); // a released text does not take the stage either: c's bytes stay there
    assertThat(a.tokens()).as("what was counted before the release").isEqualTo(countedA);
    assertThat(c.tokens()).isEqualTo(TokenEstimator.count("next"));
    assertThat(alloc.made).hasSize(3); // c's, at its read: the released texts made none
    c.release();
    assertThat(alloc.made).allSatisfy(buf -> assertThat(buf.refCnt()).isZero());
  }

  /** Released while its only bytes are in the stage: no buffer was made, and the stage is free again. */
  @Test
  void releaseWhileStagedMakesNoBuffer() {
    Counting alloc = new Counting();
    GeneratedText a = offHeap(alloc);
    append(a, "staged only");
    a.release();
    GeneratedText b = offHeap(alloc);
    append(b, "next"); // takes the stage: a had released it, nothing of a's moves
    assertThat(alloc.made).isEmpty();
    assertThat(b.tokens()).isEqualTo(TokenEstimator.count("next"));
    b.release();
    assertThat(alloc.made).allSatisfy(buf -> assertThat(buf.refCnt()).isZero());
  }

  private static GeneratedText offHeap(ByteBufAllocator alloc) {
    GeneratedText text = new GeneratedText();
    text.offHeap(alloc);
    return text;
  }

  /** The pooled allocator, remembering the direct buffers it made. */
  private static final class Counting extends AbstractByteBufAllocator {
    final List<ByteBuf> made = new ArrayList<>();

    Counting() {
      super(true);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
      throw new AssertionError("the text is kept off the heap");
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
      ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(initialCapacity, maxCapacity);
      made.add(b);
      return b;
    }

    @Override
    public boolean isDirectBufferPooled() {
      return true;
    }
  }

  private static String unescape(CharSequence body) {
    try {
      return new ObjectMapper().readValue("\"" + body + "\"", String.class);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
