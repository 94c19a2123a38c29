package io.sluice.usage;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.PriceConfig;
import java.math.BigDecimal;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Cost arithmetic against values computed by hand (USD per million tokens). */
class PricingTest {
  private static final Pricing TABLE = Pricing.of(List.of(
      new PriceConfig("gpt-4.1*", new BigDecimal("2.00"), new BigDecimal("0.50"), new BigDecimal("8.00")),
      new PriceConfig("claude-sonnet-4*", new BigDecimal("3"), new BigDecimal("0.30"), new BigDecimal("15")),
      new PriceConfig("mini-?", new BigDecimal("0.15"), null, new BigDecimal("0.60"))));

  private static Usage usage(String model, long in, long out, long cached, long reasoning) {
    return new Usage(in, out, cached, reasoning, model, false);
  }

  @Test
  void freshInputAndOutput() {
    // 1,000 × 2.00 + 500 × 8.00 = 2,000 + 4,000 = 6,000 USD per million tokens → 0.006 USD
    assertThat(TABLE.cost(usage("gpt-4.1-2025-04-14", 1000, 500, 0, 0))).isEqualByComparingTo("0.006");
  }

  @Test
  void cachedInputIsPricedAsCachedInput() {
    // 1,536 input of which 1,408 cached: 128 × 2.00 + 1,408 × 0.50 + 8 × 8.00 = 256 + 704 + 64 = 1,024 → 0.001024
    assertThat(TABLE.cost(usage("gpt-4.1-mini", 1536, 8, 1408, 0))).isEqualByComparingTo("0.001024");
    // Anthropic: 472 fresh + 1,024 written to the cache (priced as input) + 2,048 read (cached), 12 out:
    // (472 + 1,024) × 3 + 2,048 × 0.30 + 12 × 15 = 4,488 + 614.4 + 180 = 5,282.4 → 0.0052824
    assertThat(TABLE.cost(usage("claude-sonnet-4-20250514", 3544, 12, 2048, 0))).isEqualByComparingTo("0.0052824");
  }

  @Test
  void cachedInputWithoutItsOwnPriceCostsInput() {
    // 100 × 0.15 + 900 cached × 0.15 + 10 × 0.60 = 150 + 6 = 156 → 0.000156
    assertThat(TABLE.cost(usage("mini-1", 1000, 10, 900, 0))).isEqualByComparingTo("0.000156");
  }

  @Test
  void reasoningTokensArePricedAsOutputOnce() {
    // output 541 includes 512 reasoning: 36 × 2.00 + 541 × 8.00 = 72 + 4,328 = 4,400 → 0.0044
    assertThat(TABLE.cost(usage("gpt-4.1", 36, 541, 0, 512))).isEqualByComparingTo("0.0044");
  }

  @Test
  void exactWhereDoublesDrift() {
    // 0.1 + 0.2 style: three tokens at 0.15 and 0.60 per million, summed a million times, stays exact
    BigDecimal one = TABLE.cost(usage("mini-x", 1, 1, 0, 0)); // 0.15 + 0.60 = 0.75 per million → 7.5e-7
    assertThat(one).isEqualByComparingTo("0.00000075");
    assertThat(Pricing.nanos(one)).isEqualTo(750);
    BigDecimal sum = BigDecimal.ZERO;
    for (int i = 0; i < 1_000_000; i++) {
      sum = sum.add(one);
    }
    assertThat(sum).isEqualByComparingTo("0.75");
    assertThat(Pricing.nanos(new BigDecimal("0.0000000005"))).as("half a nano-dollar rounds up").isEqualTo(1);
  }

  @Test
  void firstMatchingGlobWinsAndUnknownModelsHaveNoPrice() {
    assertThat(TABLE.priceOf("gpt-4.1").input()).isEqualByComparingTo("2");
    assertThat(TABLE.priceOf("mini-12")).as("? is one character").isNull();
    assertThat(TABLE.priceOf("gpt-4o")).isNull();
    assertThat(TABLE.cost(usage("gpt-4o", 10, 10, 0, 0))).isNull();
    assertThat(TABLE.priceOf("gpt-4.1.x")).as("dots are literal").isNotNull();
    assertThat(Pricing.of(List.of(new PriceConfig("a.c", BigDecimal.ONE, null, BigDecimal.ONE))).priceOf("abc"))
        .as("a dot matches only a dot").isNull();
    assertThat(Pricing.NONE.isEmpty()).isTrue();
  }
}
