package io.sluice.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link HeadFacts} answers as {@link HttpUtil} does, for every version and header combination that matters. */
class HeadFactsTest {
  private static final String[] CONNECTION = {null, "close", "keep-alive", "Keep-Alive", "CLOSE", "upgrade",
      "keep-alive, close", "Upgrade, Keep-Alive", ""};
  private static final String[] TRANSFER_ENCODING = {null, "chunked", "CHUNKED", "gzip, chunked", "gzip", "identity", ""};

  private static List<HttpMessage> heads() {
    List<HttpMessage> heads = new ArrayList<>();
    for (HttpVersion version : new HttpVersion[] {HttpVersion.HTTP_1_0, HttpVersion.HTTP_1_1}) {
      for (String connection : CONNECTION) {
        for (String encoding : TRANSFER_ENCODING) {
          for (boolean request : new boolean[] {true, false}) {
            HttpMessage m = request ? new DefaultHttpRequest(version, HttpMethod.POST, "/v1/chat/completions")
                : new DefaultHttpResponse(version, HttpResponseStatus.OK);
            m.headers().set("content-type", "application/json");
            if (connection != null) {
              m.headers().add("connection", connection);
            }
            if (encoding != null) {
              m.headers().add("transfer-encoding", encoding);
            }
            heads.add(m);
          }
        }
      }
    }
    HttpMessage twoConnectionHeaders = new DefaultHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, "/");
    twoConnectionHeaders.headers().add("connection", "upgrade").add("connection", "keep-alive");
    heads.add(twoConnectionHeaders);
    return heads;
  }

  @Test
  void answersAsHttpUtil() {
    List<HttpMessage> heads = heads();
    for (HttpMessage m : heads) {
      assertThat(HeadFacts.keepAlive(m)).as("keep-alive of %s", m).isEqualTo(HttpUtil.isKeepAlive(m));
      assertThat(HeadFacts.chunked(m)).as("chunked of %s", m).isEqualTo(HttpUtil.isTransferEncodingChunked(m));
    }
    assertThat(heads).hasSizeGreaterThan(200);
  }
}
