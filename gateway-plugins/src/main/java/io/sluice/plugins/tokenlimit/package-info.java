/** {@code ai-token-ratelimit}: LLM tokens per clock-aligned window, reserved up front and reconciled at the end. */
package io.sluice.plugins.tokenlimit;
