/** The network side: event loops, listeners, the client pipeline and its connection-level handlers. */
package io.sluice.server;
