/** The server-sent events wire format: framing a byte stream into whole events, and reading an event's fields. */
package io.sluice.sse;
