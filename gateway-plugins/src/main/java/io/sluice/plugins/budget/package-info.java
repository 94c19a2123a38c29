/** {@code ai-budget}: USD or tokens per calendar period (UTC), reserved up front and reconciled before the response ends. */
package io.sluice.plugins.budget;
