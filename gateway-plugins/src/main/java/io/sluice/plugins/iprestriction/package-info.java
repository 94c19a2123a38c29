/** The {@code ip-restriction} plugin: allow and deny lists of IPv4/IPv6 networks, checked in ACCESS. */
package io.sluice.plugins.iprestriction;
