/** The streaming relay: forwards a response from the upstream leg to the client event by event. */
package io.sluice.relay;
