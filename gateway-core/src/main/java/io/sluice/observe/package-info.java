/** Observability: Prometheus metrics derived from each exchange's timeline. */
package io.sluice.observe;
