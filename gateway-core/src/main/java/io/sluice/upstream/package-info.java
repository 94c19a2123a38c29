/** Upstream pools: endpoints, balancers, health checks and keep-alive connection pools. */
package io.sluice.upstream;
