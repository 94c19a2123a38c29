package io.sluice.translate;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBufAllocator;
import io.sluice.config.RouteConfig.Api;
import java.time.Clock;

/**
 * The one entry point the relay calls when a route's clients speak one API and the chosen
 * target's provider another: {@link #between} says whether a translation is needed, and the
 * instance translates the request, the streamed or whole response, and error bodies. Stateless
 * and shareable; a stream's state lives in the {@link StreamTranslator} that {@link #stream} makes.
 *
 * <p>What the caller still owns: the upstream path ({@link #upstreamPath}) and the headers the
 * upstream's API needs (the provider preset's business), usage tracking (run the usage tracker
 * with {@link #upstream()}'s API on the upstream's events and bodies, before translation: they
 * carry the full counts), and turning {@link UntranslatableFieldException} into 400
 * {@code invalid_request_error} / {@code untranslatable_field} and {@link MalformedBodyException}
 * into 400 {@code malformed_request}.
 *
 * <p>Supported pairs: {@code openai-chat} ⇄ {@code anthropic-messages}. Field tables:
 * {@code gateway-core/docs/translation.md}.
 */
public abstract sealed class Translation {
  private final Api client;
  private final Api upstream;
  final Clock clock;

  private Translation(Api client, Api upstream, Clock clock) {
    this.client = client;
    this.upstream = upstream;
    this.clock = clock;
  }

  /** The translation from {@code client}'s API to {@code upstream}'s, or null when none is needed or possible. */
  public static Translation between(Api client, Api upstream) {
    return between(client, upstream, Clock.systemUTC());
  }

  /** The same with the clock that stamps OpenAI's {@code created} (tests pass a fixed one). */
  public static Translation between(Api client, Api upstream, Clock clock) {
    if (client == Api.OPENAI_CHAT && upstream == Api.ANTHROPIC_MESSAGES) {
      return new ChatClient(clock);
    }
    if (client == Api.ANTHROPIC_MESSAGES && upstream == Api.OPENAI_CHAT) {
      return new MessagesClient(clock);
    }
    return null;
  }

  public Api client() {
    return client;
  }

  public Api upstream() {
    return upstream;
  }

  /** The path the upstream's API serves this kind of request on. */
  public String upstreamPath() {
    return upstream == Api.ANTHROPIC_MESSAGES ? "/v1/messages" : "/v1/chat/completions";
  }

  /**
   * The client's request body in the upstream's API.
   *
   * @param targetModel the model name the upstream is asked for (the caller's choice)
   * @param defaultMaxTokens used when the client sent none and the upstream requires one
   *     (Anthropic): the route's {@code default-max-tokens}, else {@link #DEFAULT_MAX_TOKENS}
   * @throws UntranslatableFieldException for a field the upstream's API cannot carry
   * @throws MalformedBodyException for a body that is not a JSON object
   */
  public abstract TranslatedRequest request(byte[] body, String targetModel, int defaultMaxTokens);

  /** A translator for one streamed response to {@code request}. */
  public abstract StreamTranslator stream(TranslatedRequest request, ByteBufAllocator alloc);

  /**
   * A whole (non-streamed, 2xx) upstream response body in the client's API.
   *
   * @throws MalformedBodyException for a body that is not a JSON object
   */
  public abstract byte[] body(byte[] upstreamBody);

  /** An upstream error response (status and body, any content) in the client's API's error shape. */
  public abstract TranslatedError error(int status, byte[] upstreamBody);

  /**
   * The 400 answer to a refused request field in the client's API's error shape: type
   * {@code invalid_request_error}, code {@code untranslatable_field}, the message naming the field.
   * For an Anthropic client the body is {@code {"type":"error","error":{"type","message","code"}}},
   * which is also a valid OpenAI-style error.
   */
  public TranslatedError refusal(UntranslatableFieldException e) {
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    if (client == Api.ANTHROPIC_MESSAGES) {
      out.put("type", "error");
    }
    out.putObject("error")
        .put("message", e.getMessage())
        .put("type", UntranslatableFieldException.TYPE)
        .put("code", UntranslatableFieldException.CODE);
    return new TranslatedError(UntranslatableFieldException.STATUS, JsonBodies.write(out));
  }

  /** Anthropic requires {@code max_tokens}; this is used when neither the client nor the route says. */
  public static final int DEFAULT_MAX_TOKENS = 4096;

  /** OpenAI Chat client, Anthropic Messages upstream. */
  private static final class ChatClient extends Translation {
    ChatClient(Clock clock) {
      super(Api.OPENAI_CHAT, Api.ANTHROPIC_MESSAGES, clock);
    }

    @Override
    public TranslatedRequest request(byte[] body, String targetModel, int defaultMaxTokens) {
      return ChatToMessagesRequest.translate(body, targetModel, defaultMaxTokens);
    }

    @Override
    public StreamTranslator stream(TranslatedRequest request, ByteBufAllocator alloc) {
      return new AnthropicToChatStream(alloc, clock, request.clientWantsUsage());
    }

    @Override
    public byte[] body(byte[] upstreamBody) {
      return ResponseBodies.anthropicToChat(upstreamBody, clock);
    }

    @Override
    public TranslatedError error(int status, byte[] upstreamBody) {
      return ResponseBodies.anthropicErrorToChat(status, upstreamBody);
    }
  }

  /** Anthropic Messages client, OpenAI Chat upstream. */
  private static final class MessagesClient extends Translation {
    MessagesClient(Clock clock) {
      super(Api.ANTHROPIC_MESSAGES, Api.OPENAI_CHAT, clock);
    }

    @Override
    public TranslatedRequest request(byte[] body, String targetModel, int defaultMaxTokens) {
      return MessagesToChatRequest.translate(body, targetModel);
    }

    @Override
    public StreamTranslator stream(TranslatedRequest request, ByteBufAllocator alloc) {
      return new ChatToAnthropicStream(alloc);
    }

    @Override
    public byte[] body(byte[] upstreamBody) {
      return ResponseBodies.chatToAnthropic(upstreamBody);
    }

    @Override
    public TranslatedError error(int status, byte[] upstreamBody) {
      return ResponseBodies.chatErrorToAnthropic(status, upstreamBody);
    }
  }
}
