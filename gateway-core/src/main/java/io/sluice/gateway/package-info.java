/**
 * The gateway's semantics between transport ({@code server}) and relay: each request's life on a
 * connection ({@link io.sluice.gateway.ConnectionHandler}), its admission (route, plugins), the
 * answers from stream sessions, the request sent upstream, and the end of the exchange.
 */
package io.sluice.gateway;
