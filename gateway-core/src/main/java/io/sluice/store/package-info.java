/**
 * Shared stores for plugins: one asynchronous Redis connection per URI (Lettuce on Netty), owned by
 * core, with a short command timeout and fail-fast behaviour while Redis is down.
 */
package io.sluice.store;
