package io.sluice.usage;

import io.sluice.config.PriceConfig;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The price table of the config's {@code pricing} list: what one exchange's usage cost, in USD
 * (gateway-core/docs/usage.md, "Cost"). Prices are USD per million tokens; the first entry whose
 * {@code model} glob matches the served model wins. Fresh input tokens are priced as
 * {@code input}, cached input tokens as {@code cached-input} (else {@code input}), output tokens —
 * reasoning tokens included — as {@code output}.
 *
 * <p>Exact: the arithmetic is {@link BigDecimal} (a price of 0.15 is 0.15, not a binary fraction),
 * so what is billed never drifts; budgets count whole nano-dollars ({@link #nanos}), rounded once
 * per exchange.
 *
 * <p>Immutable and shared by every event loop; one instance per config snapshot, so a reload that
 * changes a price takes effect for the next exchange.
 */
public final class Pricing {
  public static final Pricing NONE = new Pricing(List.of());
  private static final BigDecimal MILLION = BigDecimal.valueOf(1_000_000);

  /** One entry, its glob compiled. */
  private record Entry(Pattern glob, PriceConfig price) {}

  private final List<Entry> entries;

  private Pricing(List<Entry> entries) {
    this.entries = entries;
  }

  public static Pricing of(List<PriceConfig> prices) {
    if (prices.isEmpty()) {
      return NONE;
    }
    return new Pricing(prices.stream().map(p -> new Entry(glob(p.model()), p)).toList());
  }

  /** True when no {@code pricing} is configured (then no cost is reported at all). */
  public boolean isEmpty() {
    return entries.isEmpty();
  }

  /** The price of a model, or null when none matches (or the model is unknown). */
  public PriceConfig priceOf(String model) {
    if (model == null) {
      return null;
    }
    for (Entry e : entries) {
      if (e.glob().matcher(model).matches()) {
        return e.price();
      }
    }
    return null;
  }

  /** What this usage cost in USD, exactly; null when its model has no price. */
  public BigDecimal cost(Usage usage) {
    PriceConfig p = priceOf(usage.model());
    return p == null ? null : cost(p, usage.inputTokens(), usage.cachedInputTokens(), usage.outputTokens());
  }

  /** USD for these tokens at this price ({@code cached} is the part of {@code input} from the cache). */
  public static BigDecimal cost(PriceConfig p, long input, long cached, long output) {
    long cachedPart = Math.max(0, Math.min(cached, input));
    BigDecimal cachedPrice = p.cachedInput() != null ? p.cachedInput() : p.input();
    BigDecimal perMillion = p.input().multiply(BigDecimal.valueOf(input - cachedPart))
        .add(cachedPrice.multiply(BigDecimal.valueOf(cachedPart)))
        .add(p.output().multiply(BigDecimal.valueOf(output)));
    return perMillion.divide(MILLION).stripTrailingZeros();
  }

  /** Whole nano-dollars (10⁻⁹ USD), rounded half up: what budgets count. */
  public static long nanos(BigDecimal usd) {
    return usd.movePointRight(9).setScale(0, RoundingMode.HALF_UP).longValueExact();
  }

  /** {@code *} any characters, {@code ?} one; everything else literal. */
  static Pattern glob(String glob) {
    StringBuilder re = new StringBuilder(glob.length() + 8);
    StringBuilder literal = new StringBuilder();
    for (char c : glob.toCharArray()) {
      if (c == '*' || c == '?') {
        if (literal.length() > 0) {
          re.append(Pattern.quote(literal.toString()));
          literal.setLength(0);
        }
        re.append(c == '*' ? ".*" : ".");
      } else {
        literal.append(c);
      }
    }
    if (literal.length() > 0) {
      re.append(Pattern.quote(literal.toString()));
    }
    return Pattern.compile(re.toString(), Pattern.DOTALL);
  }
}
