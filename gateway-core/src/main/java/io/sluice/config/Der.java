package io.sluice.config;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.util.Arrays;

/**
 * The little DER that {@link PemFiles} needs to turn a PKCS#1 or SEC1 private key into PKCS#8:
 * read a value's tag and content, write a definite-length value, encode and decode an object
 * identifier. Not a general ASN.1 library: single-byte tags and definite lengths only (all that
 * DER allows for these structures), and every length is checked against the bytes that are left,
 * so a corrupt file is a {@link MalformedException}, never an exception from an array index.
 */
final class Der {
  static final int INTEGER = 0x02;
  static final int BIT_STRING = 0x03;
  static final int OCTET_STRING = 0x04;
  static final int NULL = 0x05;
  static final int OID = 0x06;
  static final int SEQUENCE = 0x30;
  /** {@code [0]}, constructed: SEC1's {@code parameters}. */
  static final int CONTEXT_0 = 0xA0;
  /** {@code [1]}, constructed: SEC1's {@code publicKey}. */
  static final int CONTEXT_1 = 0xA1;

  private Der() {}

  /** Bytes that are not the DER structure expected; the message says what was wrong. */
  static final class MalformedException extends Exception {
    MalformedException(String message) {
      super(message);
    }
  }

  /** One value: its tag and its content octets. */
  record Value(int tag, byte[] content) {
    /** A reader over the values inside this (constructed) value. */
    Reader contents() {
      return new Reader(content);
    }

    /** An INTEGER small enough for an int (a version number). */
    int intValue(String what) throws MalformedException {
      expect(INTEGER, what);
      if (content.length == 0 || content.length > 4) {
        throw new MalformedException(what + " is not a small INTEGER");
      }
      return new BigInteger(content).intValueExact();
    }

    /** An OBJECT IDENTIFIER in dotted form ({@code 1.2.840.10045.3.1.7}). */
    String oid(String what) throws MalformedException {
      expect(OID, what);
      return decodeOid(content, what);
    }

    void expect(int expected, String what) throws MalformedException {
      if (tag != expected) {
        throw new MalformedException(what + ": expected " + tagName(expected) + ", found " + tagName(tag));
      }
    }
  }

  /** Reads the values of one level in order. */
  static final class Reader {
    private final byte[] in;
    private int pos;

    Reader(byte[] in) {
      this.in = in;
    }

    boolean hasMore() {
      return pos < in.length;
    }

    /** The next value, whatever its tag. */
    Value next(String what) throws MalformedException {
      if (pos >= in.length) {
        throw new MalformedException(what + " is missing");
      }
      int tag = in[pos++] & 0xff;
      if ((tag & 0x1f) == 0x1f) {
        throw new MalformedException(what + ": not DER (multi-byte tag)");
      }
      if (pos >= in.length) {
        throw new MalformedException(what + ": truncated");
      }
      int first = in[pos++] & 0xff;
      long length;
      if (first < 0x80) {
        length = first;
      } else {
        int n = first & 0x7f;
        if (n == 0 || n > 4) {
          throw new MalformedException(what + ": not DER (" + (n == 0 ? "indefinite" : "oversized") + " length)");
        }
        if (in.length - pos < n) {
          throw new MalformedException(what + ": truncated");
        }
        length = 0;
        for (int i = 0; i < n; i++) {
          length = (length << 8) | (in[pos++] & 0xff);
        }
      }
      if (length > in.length - pos) {
        throw new MalformedException(what + ": truncated (a length of " + length + " bytes, " + (in.length - pos)
            + " left)");
      }
      byte[] content = Arrays.copyOfRange(in, pos, pos + (int) length);
      pos += (int) length;
      return new Value(tag, content);
    }

    /** The next value, which must have this tag. */
    Value next(int tag, String what) throws MalformedException {
      Value v = next(what);
      v.expect(tag, what);
      return v;
    }
  }

  /** The one value that makes up all of {@code der} (nothing may follow it). */
  static Value single(byte[] der, int tag, String what) throws MalformedException {
    Reader r = new Reader(der);
    Value v = r.next(tag, what);
    if (r.hasMore()) {
      throw new MalformedException(what + ": unexpected bytes after the end");
    }
    return v;
  }

  /** A value with this tag whose content is the concatenation of {@code parts}. */
  static byte[] write(int tag, byte[]... parts) {
    ByteArrayOutputStream content = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      content.writeBytes(p);
    }
    int length = content.size();
    ByteArrayOutputStream out = new ByteArrayOutputStream(length + 6);
    out.write(tag);
    if (length < 0x80) {
      out.write(length);
    } else {
      int n = (32 - Integer.numberOfLeadingZeros(length) + 7) / 8;
      out.write(0x80 | n);
      for (int i = n - 1; i >= 0; i--) {
        out.write(length >>> (8 * i));
      }
    }
    out.writeBytes(content.toByteArray());
    return out.toByteArray();
  }

  /** A small non-negative INTEGER. */
  static byte[] integer(int value) {
    return write(INTEGER, BigInteger.valueOf(value).toByteArray());
  }

  /** An OBJECT IDENTIFIER from its dotted form. */
  static byte[] oid(String dotted) {
    String[] arcs = dotted.split("\\.");
    ByteArrayOutputStream content = new ByteArrayOutputStream();
    base128(content, Long.parseLong(arcs[0]) * 40 + Long.parseLong(arcs[1]));
    for (int i = 2; i < arcs.length; i++) {
      base128(content, Long.parseLong(arcs[i]));
    }
    return write(OID, content.toByteArray());
  }

  private static void base128(ByteArrayOutputStream out, long value) {
    int groups = Math.max(1, (64 - Long.numberOfLeadingZeros(value) + 6) / 7);
    for (int i = groups - 1; i >= 0; i--) {
      int b = (int) (value >>> (7 * i)) & 0x7f;
      out.write(i == 0 ? b : b | 0x80);
    }
  }

  private static String decodeOid(byte[] content, String what) throws MalformedException {
    if (content.length == 0 || (content[content.length - 1] & 0x80) != 0) {
      throw new MalformedException(what + ": a malformed OBJECT IDENTIFIER");
    }
    StringBuilder out = new StringBuilder();
    long value = 0;
    boolean first = true;
    for (byte b : content) {
      if (value > (Long.MAX_VALUE >>> 7)) {
        throw new MalformedException(what + ": a malformed OBJECT IDENTIFIER");
      }
      value = (value << 7) | (b & 0x7f);
      if ((b & 0x80) == 0) {
        if (first) {
          long top = Math.min(value / 40, 2);
          out.append(top).append('.').append(value - top * 40);
          first = false;
        } else {
          out.append('.').append(value);
        }
        value = 0;
      }
    }
    return out.toString();
  }

  private static String tagName(int tag) {
    return switch (tag) {
      case INTEGER -> "INTEGER";
      case BIT_STRING -> "BIT STRING";
      case OCTET_STRING -> "OCTET STRING";
      case NULL -> "NULL";
      case OID -> "OBJECT IDENTIFIER";
      case SEQUENCE -> "SEQUENCE";
      default -> String.format("tag 0x%02x", tag);
    };
  }
}
