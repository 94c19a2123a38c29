/**
 * What {@code ai-token-ratelimit} and {@code ai-budget} share: rule keys and their config, the local
 * and Redis counters, and the reserve-then-reconcile ledger.
 */
package io.sluice.plugins.quota;
