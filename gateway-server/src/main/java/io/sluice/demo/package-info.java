/** The embedded mock OpenAI-compatible model server behind {@code --demo} and {@code --mock-upstream PORT}. */
package io.sluice.demo;
