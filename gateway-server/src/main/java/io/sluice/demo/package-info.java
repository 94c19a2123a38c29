/** The embedded mock model server (OpenAI Chat and Anthropic Messages) behind {@code --demo} and {@code --mock-upstream PORT}. */
package io.sluice.demo;
