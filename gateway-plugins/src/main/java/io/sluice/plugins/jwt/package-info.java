/** jwt-auth: authenticates requests by a signed JWT (HMAC secrets, PEM public keys, JWKS URLs). */
package io.sluice.plugins.jwt;
