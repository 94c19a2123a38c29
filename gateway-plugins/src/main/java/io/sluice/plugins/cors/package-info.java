/** The {@code cors} plugin: answers CORS preflights in ACCESS and adds CORS headers to responses. */
package io.sluice.plugins.cors;
