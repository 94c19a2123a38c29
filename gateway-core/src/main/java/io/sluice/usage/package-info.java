/** LLM token usage: what a response reports (or what its text suggests) for metrics and limits. */
package io.sluice.usage;
