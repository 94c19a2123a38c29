package io.sluice.config;

import java.math.BigDecimal;

/**
 * One entry of the top-level {@code pricing} list: USD per million tokens for the models whose
 * served name matches {@code model} (a glob: {@code *} any characters, {@code ?} one).
 *
 * @param cachedInput the price of input tokens served from the provider's prompt cache; null when
 *     not set (they cost {@code input} then)
 */
public record PriceConfig(String model, BigDecimal input, BigDecimal cachedInput, BigDecimal output) {}
