package io.sluice.usage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Estimates token counts of text when an upstream reports none, and the prompt size used for
 * rate-limit reservations.
 *
 * <p>Uses OpenAI's {@code cl100k_base} byte-pair encoding ({@link Cl100kTokenizer}: jtokkit's
 * vocabulary in a compact table of our own, ~2 MB of heap). Special-token strings such as
 * {@code <|endoftext|>} are counted as ordinary text. Other providers' tokenizers differ by some
 * ten per cent either way; figures from this class are always marked estimated. Should the
 * vocabulary fail to load, the documented fallback rule is used: one token per 4 bytes of UTF-8,
 * rounded up ({@link #bytesRule}).
 *
 * <p>Loading: the vocabulary (~0.3 s of CPU, 2 MB of heap for as long as the process lives) is
 * loaded only when an estimate first needs it, on a thread of its own ({@code sluice-tokenizer-load}),
 * never on an event loop, and never before: a gateway whose upstreams report usage never loads it.
 * Whoever needs a count on an event loop asks {@link #ready()} first (which starts the load) and,
 * when it is not ready, goes on with {@link #whenReady} instead of waiting — the exchange's ending,
 * the usage settled at a stream's end, the stream watch ({@code gateway-core/docs/usage.md},
 * "Estimation"). The estimate's text is kept meanwhile (bounded: {@link TextTokenCounter}), so
 * the count is the same as if the vocabulary had been there all along.
 *
 * <p>Thread-safe.
 */
public final class TokenEstimator {
  private static final Logger LOG = LoggerFactory.getLogger(TokenEstimator.class);

  /** Bytes of UTF-8 per token in the fallback rule. */
  public static final int BYTES_PER_TOKEN = 4;

  private static volatile Load load = new Load(TokenEstimator::loadVocabulary);

  private TokenEstimator() {}

  /** One load of the vocabulary: started once, by the first caller that needs it. */
  private static final class Load {
    final CompletableFuture<Cl100kTokenizer> done = new CompletableFuture<>();
    private final Callable<Cl100kTokenizer> loader;
    private final AtomicBoolean started = new AtomicBoolean();

    Load(Callable<Cl100kTokenizer> loader) {
      this.loader = loader;
    }

    void start() {
      if (!done.isDone() && started.compareAndSet(false, true)) {
        Thread thread = new Thread(this::run, "sluice-tokenizer-load");
        thread.setDaemon(true);
        thread.start();
      }
    }

    private void run() {
      Cl100kTokenizer tokenizer = null;
      try {
        tokenizer = loader.call();
      } catch (Exception | LinkageError e) {
        LOG.warn("cl100k_base tokenizer unavailable; estimating 1 token per {} bytes", BYTES_PER_TOKEN, e);
      }
      done.complete(tokenizer); // null: the byte rule from now on
    }
  }

  private static Cl100kTokenizer loadVocabulary() throws IOException {
    return Cl100kTokenizer.load();
  }

  /**
   * Whether counts can be taken now without waiting for the vocabulary (it is loaded, or failed to
   * load and the byte rule stands in). When not, its load starts in the background.
   */
  public static boolean ready() {
    Load l = load;
    if (l.done.isDone()) {
      return true;
    }
    l.start();
    return false;
  }

  /** Whether the vocabulary was loaded (or its load failed); starts nothing. */
  public static boolean loaded() {
    return load.done.isDone();
  }

  /** Whether anything has needed the vocabulary yet (its load started, or is over). */
  public static boolean loadStarted() {
    Load l = load;
    return l.started.get() || l.done.isDone();
  }

  /**
   * Runs {@code task} on {@code executor} (an event loop) once counts can be taken: the vocabulary
   * loads meanwhile, off the loop. Ask {@link #ready()} first; a task for a ready estimator still
   * goes through the executor.
   */
  public static void whenReady(Executor executor, Runnable task) {
    Load l = load;
    l.start();
    l.done.thenRunAsync(task, executor).exceptionally(e -> {
      LOG.warn("a task waiting for the tokenizer failed", e);
      return null;
    });
  }

  /**
   * Loads the vocabulary now and waits for it; for callers off the event loops (tests, tools).
   *
   * @return whether the vocabulary is there (false: the byte rule stands in)
   */
  public static boolean warmUp() {
    Load l = load;
    l.start();
    return l.done.join() != null;
  }

  /**
   * For tests only: forgets the vocabulary, as in a process that has not needed it yet; its next
   * load waits until {@code letGo} completes, so that a test decides when it is there.
   */
  public static void unloadForTests(CompletableFuture<Void> letGo) {
    load = new Load(() -> {
      letGo.join();
      return Cl100kTokenizer.load();
    });
  }

  /** Tokens of {@code text} (0 for null or empty). */
  public static long count(String text) {
    if (text == null || text.isEmpty()) {
      return 0;
    }
    Load l = load;
    l.start(); // callers on an event loop asked ready() first: then this does not wait
    Cl100kTokenizer tokenizer = l.done.join();
    if (tokenizer != null) {
      try {
        return tokenizer.count(text);
      } catch (RuntimeException e) {
        // fall through to the byte rule
      }
    }
    return bytesRule(text.getBytes(StandardCharsets.UTF_8).length);
  }

  /** The fallback rule: {@code ceil(utf8Bytes / 4)}. */
  public static long bytesRule(long utf8Bytes) {
    return utf8Bytes <= 0 ? 0 : (utf8Bytes + BYTES_PER_TOKEN - 1) / BYTES_PER_TOKEN;
  }
}
