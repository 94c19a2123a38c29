/** The {@code key-auth} plugin: API keys of the declared consumers, checked in AUTHN and stripped before the upstream. */
package io.sluice.plugins.keyauth;
