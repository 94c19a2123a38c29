/** Network addresses: CIDR sets and the client identity rules (PROXY protocol, trusted proxies). */
package io.sluice.net;
