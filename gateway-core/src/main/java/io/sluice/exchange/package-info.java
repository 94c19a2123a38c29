/**
 * The per-request record where the client leg, the route and the upstream leg meet: the
 * {@link io.sluice.exchange.Exchange} with its timeline of moments, and the
 * {@link io.sluice.exchange.ClientLeg} through which every kind of answer reaches the client.
 */
package io.sluice.exchange;
