package dev.attestmesh.authz;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * What an ext_authz decision reads from a {@link CheckRequest}, and nothing else: the source's certificate field
 * (exact bytes) and principal, the destination's principal and port, the {@value AuthzDecider#POLICY_IDS_KEY}
 * context extension, and whether the request is an HTTP one.
 *
 * <p>The gRPC binding {@linkplain #decode decodes} these straight from the request's wire bytes, so a Check does
 * not build the whole message: no builder per nested message, no String per header or address, and the
 * certificate field (about 1.5 to 2.5 KiB of URL-encoded PEM, the largest thing in the request) is not copied at all:
 * it stays where it is in the request's bytes, the decision cache is looked up with that slice, and it is copied only
 * into a key the cache keeps, on the miss that decides it. The fields read follow protobuf's parsing rules exactly:
 * the last value of a repeated scalar wins, a repeated embedded message merges, a oneof keeps its last member (a
 * {@code pipe} address after a socket address has no port; a socket address that comes back merges into the first,
 * as protobuf-java's builders do), a map's last entry for a key wins, and every string
 * read must be valid UTF-8 (as proto3 requires; otherwise the request is rejected as the generated parser would
 * reject it), except the certificate field: {@link AuthzDecider} checks that one on the cache miss that decides
 * it and denies it when it is not UTF-8 (the generated parser would fail the call instead). Fields the decision does not read are skipped by their wire type without being validated, so a
 * request malformed only inside them is still decided on. {@code CheckFieldsTest} holds the decoder to the
 * generated parser on random and merged messages.
 *
 * <p>Immutable. The certificate field is a slice of an array this object owns (the request's own bytes when decoded
 * from the wire); {@link #certificate()} hands out a copy.
 */
public final class CheckFields {
    private final byte[] certificateSource; // the field is [certificateOffset, certificateOffset + certificateLength)
    private final int certificateOffset;
    private final int certificateLength;
    private final String sourcePrincipal;
    private final String destinationPrincipal;
    private final int destinationPort;
    private final String contextPolicyIds;
    private final boolean http;
    private final int serializedSize;

    /**
     * @param certificate the source certificate field's bytes as sent (URL-encoded PEM); empty when absent. Owned by
     *     this object from now on: the caller must not modify it
     * @param sourcePrincipal the source principal, "" when absent
     * @param destinationPrincipal the destination principal, "" when absent
     * @param destinationPort the destination socket address's port value, 0 when absent or not a socket address
     * @param contextPolicyIds the {@value AuthzDecider#POLICY_IDS_KEY} context extension, null when absent
     * @param http whether the request carries HTTP attributes (a check by Envoy's HTTP filter)
     * @param serializedSize the request's encoded size in bytes
     */
    public CheckFields(byte[] certificate, String sourcePrincipal, String destinationPrincipal, int destinationPort,
            String contextPolicyIds, boolean http, int serializedSize) {
        this(certificate, 0, certificate.length, sourcePrincipal, destinationPrincipal, destinationPort, contextPolicyIds,
                http, serializedSize);
    }

    private CheckFields(byte[] certificateSource, int certificateOffset, int certificateLength, String sourcePrincipal,
            String destinationPrincipal, int destinationPort, String contextPolicyIds, boolean http, int serializedSize) {
        java.util.Objects.checkFromIndexSize(certificateOffset, certificateLength, certificateSource.length);
        this.certificateSource = certificateSource;
        this.certificateOffset = certificateOffset;
        this.certificateLength = certificateLength;
        this.sourcePrincipal = java.util.Objects.requireNonNull(sourcePrincipal, "sourcePrincipal");
        this.destinationPrincipal = java.util.Objects.requireNonNull(destinationPrincipal, "destinationPrincipal");
        this.destinationPort = destinationPort;
        this.contextPolicyIds = contextPolicyIds;
        this.http = http;
        this.serializedSize = serializedSize;
    }

    /** A copy of the source certificate field's bytes as sent (URL-encoded PEM); empty when absent. */
    public byte[] certificate() {
        return Arrays.copyOfRange(certificateSource, certificateOffset, certificateOffset + certificateLength);
    }

    /** The source certificate field's length in bytes, 0 when absent. */
    public int certificateLength() {
        return certificateLength;
    }

    /** The source principal, "" when absent. */
    public String sourcePrincipal() {
        return sourcePrincipal;
    }

    /** The destination principal, "" when absent. */
    public String destinationPrincipal() {
        return destinationPrincipal;
    }

    /** The destination socket address's port value, 0 when absent or not a socket address. */
    public int destinationPort() {
        return destinationPort;
    }

    /** The {@value AuthzDecider#POLICY_IDS_KEY} context extension, null when absent. */
    public String contextPolicyIds() {
        return contextPolicyIds;
    }

    /** Whether the request carries HTTP attributes (a check by Envoy's HTTP filter). */
    public boolean http() {
        return http;
    }

    /** The request's encoded size in bytes. */
    public int serializedSize() {
        return serializedSize;
    }

    /**
     * The decision cache's key for this certificate field and {@code required}, looking at the field where it is
     * (the cache copies it into a key of its own only when it keeps a decision).
     */
    DecisionCache.Key certificateKey(java.util.List<String> required) {
        return DecisionCache.byCertificateSlice(certificateSource, certificateOffset, certificateLength, required);
    }

    /** Whether the certificate field is valid UTF-8 (checked on the cache miss that decides it). */
    boolean certificateIsUtf8() {
        return com.google.protobuf.UnsafeByteOperations.unsafeWrap(certificateSource, certificateOffset, certificateLength)
                .isValidUtf8();
    }

    private static final byte[] NONE = new byte[0];

    /** The same fields read from a parsed request (tests, and callers that hold a message already). */
    public static CheckFields of(CheckRequest request) {
        AttributeContext a = request.getAttributes();
        return new CheckFields(a.getSource().getCertificateBytes().toByteArray(), a.getSource().getPrincipal(),
                a.getDestination().getPrincipal(), a.getDestination().getAddress().getSocketAddress().getPortValue(),
                a.getContextExtensionsMap().get(AuthzDecider.POLICY_IDS_KEY),
                a.hasRequest() && a.getRequest().hasHttp(), request.getSerializedSize());
    }

    /** The certificate field as text (it is URL-encoded PEM, so ASCII; decoded only on a cache miss). */
    String certificateText() {
        return new String(certificateSource, certificateOffset, certificateLength, StandardCharsets.ISO_8859_1);
    }

    /**
     * Decodes the fields from a CheckRequest's encoding.
     *
     * @throws InvalidProtocolBufferException when the encoding is malformed where these fields are read, or a
     *     string read is not UTF-8
     */
    public static CheckFields decode(byte[] wire, int offset, int length) throws InvalidProtocolBufferException {
        Decoder d = new Decoder(wire, offset, length);
        try {
            d.checkRequest();
        } catch (InvalidProtocolBufferException e) {
            throw e;
        } catch (IOException e) {
            throw new InvalidProtocolBufferException(e); // an array decoder raises nothing else
        }
        return d.result(length);
    }

    // Field numbers (envoy/service/auth/v3 and envoy/config/core/v3/address.proto)
    private static final int CHECK_REQUEST_ATTRIBUTES = 1;
    private static final int ATTRS_SOURCE = 1;
    private static final int ATTRS_DESTINATION = 2;
    private static final int ATTRS_REQUEST = 4;
    private static final int ATTRS_CONTEXT_EXTENSIONS = 10;
    private static final int REQUEST_HTTP = 2;
    private static final int PEER_ADDRESS = 1;
    private static final int PEER_PRINCIPAL = 4;
    private static final int PEER_CERTIFICATE = 5;
    private static final int ADDRESS_SOCKET_ADDRESS = 1;
    private static final int ADDRESS_PIPE = 2;
    private static final int ADDRESS_ENVOY_INTERNAL = 3;
    private static final int SOCKET_PORT_VALUE = 3;
    private static final int SOCKET_NAMED_PORT = 4;
    private static final int MAP_KEY = 1;
    private static final int MAP_VALUE = 2;

    /** One pass over the encoding, keeping the state the generated parser's builders would keep for these fields. */
    private static final class Decoder {
        private final CodedInputStream in;
        private final byte[] wire;
        private final int offset;
        /** Where the certificate field's last value lies in {@link #wire}. */
        private int certificateOffset;
        private int certificateLength;
        private String sourcePrincipal = "";
        private String destinationPrincipal = "";
        /** The destination address's oneof case (0 none, else the field number) and its socket address's port oneof. */
        private int addressCase;
        private int portCase;
        private int portValue;
        private String contextPolicyIds;
        private boolean http;

        Decoder(byte[] wire, int offset, int length) {
            this.in = CodedInputStream.newInstance(wire, offset, length);
            this.wire = wire;
            this.offset = offset;
        }

        CheckFields result(int size) {
            int port = addressCase == ADDRESS_SOCKET_ADDRESS && portCase == SOCKET_PORT_VALUE ? portValue : 0;
            return certificateLength == 0
                    ? new CheckFields(NONE, sourcePrincipal, destinationPrincipal, port, contextPolicyIds, http, size)
                    : new CheckFields(wire, certificateOffset, certificateLength, sourcePrincipal, destinationPrincipal,
                            port, contextPolicyIds, http, size);
        }

        void checkRequest() throws IOException {
            for (int tag; (tag = in.readTag()) != 0; ) {
                if (tag == lengthDelimited(CHECK_REQUEST_ATTRIBUTES)) {
                    int limit = enter();
                    attributes();
                    leave(limit);
                } else {
                    skip(tag);
                }
            }
        }

        private void attributes() throws IOException {
            for (int tag; (tag = in.readTag()) != 0; ) {
                int field = WireFormat.getTagFieldNumber(tag);
                if (WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    skip(tag);
                    continue;
                }
                switch (field) {
                    case ATTRS_SOURCE, ATTRS_DESTINATION -> {
                        int limit = enter();
                        peer(field == ATTRS_SOURCE);
                        leave(limit);
                    }
                    case ATTRS_REQUEST -> {
                        int limit = enter();
                        request();
                        leave(limit);
                    }
                    case ATTRS_CONTEXT_EXTENSIONS -> {
                        int limit = enter();
                        contextExtension();
                        leave(limit);
                    }
                    default -> skip(tag);
                }
            }
        }

        private void peer(boolean source) throws IOException {
            for (int tag; (tag = in.readTag()) != 0; ) {
                int field = WireFormat.getTagFieldNumber(tag);
                if (WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    skip(tag);
                } else if (field == PEER_PRINCIPAL) {
                    String principal = in.readStringRequireUtf8();
                    if (source) {
                        sourcePrincipal = principal;
                    } else {
                        destinationPrincipal = principal;
                    }
                } else if (field == PEER_CERTIFICATE && source) {
                    // Not checked for UTF-8 here: the decider checks a field once, on the cache miss that decides it,
                    // and denies one that is not (a cache hit is the same bytes, checked when first decided)
                    // Left where it is: the array decoder's position is an offset into the wire bytes
                    // (skipRawBytes rejects a negative or overlong length as readByteArray would)
                    int length = in.readRawVarint32();
                    int at = offset + in.getTotalBytesRead();
                    in.skipRawBytes(length);
                    certificateOffset = at;
                    certificateLength = length;
                } else if (field == PEER_ADDRESS && !source) {
                    int limit = enter();
                    address();
                    leave(limit);
                } else {
                    skip(tag);
                }
            }
        }

        private void address() throws IOException {
            for (int tag; (tag = in.readTag()) != 0; ) {
                int field = WireFormat.getTagFieldNumber(tag);
                boolean delimited = WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
                if (delimited && field == ADDRESS_SOCKET_ADDRESS) {
                    // protobuf-java keeps a oneof member's builder once made: a socket address after a pipe after a
                    // socket address merges into the first one, and this does the same
                    addressCase = ADDRESS_SOCKET_ADDRESS;
                    int limit = enter();
                    socketAddress();
                    leave(limit);
                } else if (delimited && (field == ADDRESS_PIPE || field == ADDRESS_ENVOY_INTERNAL)) {
                    addressCase = field;
                    skip(tag);
                } else {
                    skip(tag);
                }
            }
        }

        private void socketAddress() throws IOException {
            for (int tag; (tag = in.readTag()) != 0; ) {
                if (tag == (SOCKET_PORT_VALUE << 3 | WireFormat.WIRETYPE_VARINT)) {
                    portCase = SOCKET_PORT_VALUE;
                    portValue = in.readUInt32();
                } else if (tag == lengthDelimited(SOCKET_NAMED_PORT)) {
                    in.readStringRequireUtf8();
                    portCase = SOCKET_NAMED_PORT;
                    portValue = 0;
                } else {
                    skip(tag);
                }
            }
        }

        private void request() throws IOException {
            for (int tag; (tag = in.readTag()) != 0; ) {
                if (tag == lengthDelimited(REQUEST_HTTP)) {
                    http = true;
                }
                skip(tag);
            }
        }

        /** One map entry; a missing key or value is "" as in the generated parser. */
        private void contextExtension() throws IOException {
            String key = "";
            String value = "";
            for (int tag; (tag = in.readTag()) != 0; ) {
                if (tag == lengthDelimited(MAP_KEY)) {
                    key = in.readStringRequireUtf8();
                } else if (tag == lengthDelimited(MAP_VALUE)) {
                    value = in.readStringRequireUtf8();
                } else {
                    skip(tag);
                }
            }
            if (key.equals(AuthzDecider.POLICY_IDS_KEY)) {
                contextPolicyIds = value;
            }
        }

        /**
         * Skips a field the decision does not read. An end-group tag where a field should start ends the message
         * early in the generated parser, which then rejects it; so does this.
         */
        private void skip(int tag) throws IOException {
            if (!in.skipField(tag)) {
                throw new InvalidProtocolBufferException("unexpected end-group tag in a CheckRequest");
            }
        }

        private int enter() throws IOException {
            int length = in.readRawVarint32();
            if (length < 0) {
                throw new InvalidProtocolBufferException("negative length in a CheckRequest");
            }
            return in.pushLimit(length);
        }

        private void leave(int oldLimit) {
            in.popLimit(oldLimit); // the loops end only where the embedded message's length does
        }

        private static int lengthDelimited(int field) {
            return field << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CheckFields f && Arrays.equals(certificateSource, certificateOffset,
                certificateOffset + certificateLength, f.certificateSource, f.certificateOffset,
                f.certificateOffset + f.certificateLength)
                && sourcePrincipal.equals(f.sourcePrincipal) && destinationPrincipal.equals(f.destinationPrincipal)
                && destinationPort == f.destinationPort && java.util.Objects.equals(contextPolicyIds, f.contextPolicyIds)
                && http == f.http && serializedSize == f.serializedSize;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(Arrays.hashCode(certificate()), sourcePrincipal, destinationPrincipal,
                destinationPort, contextPolicyIds, http, serializedSize);
    }

    @Override
    public String toString() {
        return "CheckFields[certificate " + certificateLength + " bytes, source " + sourcePrincipal + ", destination "
                + destinationPrincipal + ":" + destinationPort + ", policy ids " + contextPolicyIds + ", http " + http
                + ", " + serializedSize + " bytes]";
    }
}
