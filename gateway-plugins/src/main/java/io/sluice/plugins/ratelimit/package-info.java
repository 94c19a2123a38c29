/** The {@code rate-limit} plugin: token buckets of requests per key, checked in TRAFFIC. */
package io.sluice.plugins.ratelimit;
