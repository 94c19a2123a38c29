package io.sluice.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.LongStream;

/**
 * Seeded random inputs for the property tests ({@code *PropertiesTest}): each case is one seed, the
 * seed is in every assertion message, and {@link #random(long)} turns the same seed into the same
 * input on every machine — a failing seed is the whole reproduction, no shrinking needed.
 *
 * <p>Seeds: a test asks for {@link #seeds(int) n seeds} through {@code @MethodSource}. They are the
 * same on every run (base {@code 0}), so CI never meets a case it has not met before; to explore
 * elsewhere or longer run with {@code -Dsluice.fuzz.seed=<base>} and/or
 * {@code -Dsluice.fuzz.cases=<n>}, e.g.
 * {@code mvn -o -pl gateway-core test -Dtest='*PropertiesTest' -Dsluice.fuzz.seed=1000000 -Dsluice.fuzz.cases=20000}.
 * To replay one failure, {@code -Dsluice.fuzz.seed=<the seed> -Dsluice.fuzz.cases=1}.
 *
 * <p>Sizes lean to their edges ({@link #size}): an empty list, a one-character string or the
 * longest allowed one come up far more often than a uniform draw would give them, because that
 * is where parsers break.
 */
public final class RandomInputs {
  /** System property: the first seed (default 0). */
  public static final String SEED_PROPERTY = "sluice.fuzz.seed";
  /** System property: the number of cases, overriding every test's own count. */
  public static final String CASES_PROPERTY = "sluice.fuzz.cases";

  private static final String[] LINE_ENDINGS = {"\n", "\r\n", "\r"};

  private RandomInputs() {}

  /** {@code cases} consecutive seeds from the base seed (both overridable, see the class doc). */
  public static LongStream seeds(int cases) {
    long base = Long.getLong(SEED_PROPERTY, 0L);
    return LongStream.range(base, base + Integer.getInteger(CASES_PROPERTY, cases));
  }

  /**
   * The generator for one case. The seed is mixed first: {@code java.util.Random}'s first outputs
   * for consecutive seeds are strongly correlated (its seed scrambling is a single XOR), so seeds
   * 0, 1, 2… would otherwise start nearly the same input.
   */
  public static Random random(long seed) {
    long z = seed + 0x9E3779B97F4A7C15L; // SplittableRandom's mix64
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return new Random(z ^ (z >>> 31));
  }

  /** A size in {@code [min, max]}: one draw in ten is {@code min}, one in ten {@code max}, the rest uniform. */
  public static int size(Random random, int min, int max) {
    int edge = random.nextInt(10);
    if (edge == 0) {
      return min;
    }
    if (edge == 1) {
      return max;
    }
    return min + random.nextInt(max - min + 1);
  }

  /** A string of {@code [min, max]} characters drawn from {@code alphabet}. */
  public static String string(Random random, String alphabet, int min, int max) {
    int n = size(random, min, max);
    StringBuilder s = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      s.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return s.toString();
  }

  /**
   * A string of up to {@code max} arbitrary UTF-16 units: half the strings printable ASCII, the
   * others anything — control characters, NUL, lone surrogates, noncharacters — so both
   * "almost valid" and binary-looking text come up.
   */
  public static String anyString(Random random, int max) {
    int n = size(random, 0, max);
    boolean ascii = random.nextBoolean();
    StringBuilder s = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      s.append(ascii ? (char) (' ' + random.nextInt(95)) : (char) random.nextInt(Character.MAX_VALUE + 1));
    }
    return s.toString();
  }

  /** One of {@code choices}, uniformly. */
  public static <T> T pick(Random random, List<T> choices) {
    return choices.get(random.nextInt(choices.size()));
  }

  /** One of {@code choices}, uniformly. */
  @SafeVarargs
  public static <T> T pick(Random random, T... choices) {
    return choices[random.nextInt(choices.length)];
  }

  /** {@code null} with probability {@code nullChance}, else {@code value}. */
  public static <T> T orNull(Random random, double nullChance, T value) {
    return random.nextDouble() < nullChance ? null : value;
  }

  /** A list of {@code [min, max]} elements, each drawn by {@code element}. */
  public static <T> List<T> list(Random random, int min, int max, Function<Random, T> element) {
    int n = size(random, min, max);
    List<T> list = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      list.add(element.apply(random));
    }
    return list;
  }

  /** {@code n} random bytes. */
  public static byte[] bytes(Random random, int n) {
    byte[] bytes = new byte[n];
    random.nextBytes(bytes);
    return bytes;
  }

  /** LF, CRLF or CR: the three line endings SSE allows. */
  public static String lineEnding(Random random) {
    return LINE_ENDINGS[random.nextInt(LINE_ENDINGS.length)];
  }

  /**
   * Where the network might split {@code length} bytes into reads: up to {@code maxCuts} distinct
   * boundaries inside, ascending, always ending with {@code length} itself (so the last read ends
   * the data). With {@code maxCuts = 0} or a one-byte input: a single read.
   */
  public static TreeSet<Integer> cuts(Random random, int length, int maxCuts) {
    TreeSet<Integer> cuts = new TreeSet<>();
    int n = size(random, 0, maxCuts);
    for (int i = 0; i < n && length > 1; i++) {
      cuts.add(1 + random.nextInt(length - 1));
    }
    cuts.add(length);
    return cuts;
  }

  /** {@code text} with the character at a random index replaced by one from {@code alphabet}. */
  public static String replaceChar(Random random, String text, String alphabet) {
    int i = random.nextInt(text.length());
    return text.substring(0, i) + alphabet.charAt(random.nextInt(alphabet.length())) + text.substring(i + 1);
  }

  /** {@code text} with one character from {@code alphabet} inserted anywhere (also first or last). */
  public static String insertChar(Random random, String text, String alphabet) {
    int i = random.nextInt(text.length() + 1);
    return text.substring(0, i) + alphabet.charAt(random.nextInt(alphabet.length())) + text.substring(i);
  }

  /** {@code text} without a run of 1 to {@code maxRun} characters starting at a random index. */
  public static String deleteRun(Random random, String text, int maxRun) {
    int i = random.nextInt(text.length());
    return text.substring(0, i) + text.substring(Math.min(text.length(), i + 1 + random.nextInt(maxRun)));
  }
}
