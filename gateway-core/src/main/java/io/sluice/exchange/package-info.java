/** The per-request object where the client leg, the route and the upstream leg meet. */
package io.sluice.exchange;
