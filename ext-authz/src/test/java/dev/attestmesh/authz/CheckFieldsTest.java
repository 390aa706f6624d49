package dev.attestmesh.authz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.EnvoyInternalAddress;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.Pipe;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link CheckFields#decode} against protobuf's generated parser: wherever the generated parser accepts an
 * encoding, the decoder reads the same fields from it, including merged messages (concatenated encodings),
 * switched oneofs and repeated map keys; a string the decision reads that is not UTF-8 is rejected by both.
 */
class CheckFieldsTest {
    private static final String KEY = AuthzDecider.POLICY_IDS_KEY;

    @Test
    void decodesAnEnvoyNetworkCheckLikeTheGeneratedParser() throws Exception {
        CheckRequest r = CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .setSource(AttributeContext.Peer.newBuilder().setAddress(socket("10.0.0.1", 43512))
                        .setPrincipal("spiffe://attestmesh.local/node/peer")
                        .setCertificate("-----BEGIN%20CERTIFICATE-----%0AMIIB...%0A-----END%20CERTIFICATE-----%0A"))
                .setDestination(AttributeContext.Peer.newBuilder().setAddress(socket("10.0.0.2", 8443))
                        .setPrincipal("spiffe://attestmesh.local/ns/shop/sa/api"))).build();
        CheckFields f = decode(r.toByteArray());
        assertEquals(CheckFields.of(r), f);
        assertEquals("spiffe://attestmesh.local/node/peer", f.sourcePrincipal());
        assertEquals(8443, f.destinationPort());
        assertNull(f.contextPolicyIds());
        assertFalse(f.http());
        assertEquals(r.getSerializedSize(), f.serializedSize());
    }

    @Test
    void agreesWithTheGeneratedParserOnRandomAndMergedRequests() throws Exception {
        Random random = new Random(20261207);
        int merged = 0;
        for (int i = 0; i < 3000; i++) {
            ByteArrayOutputStream wire = new ByteArrayOutputStream();
            int parts = 1 + random.nextInt(3); // concatenated encodings merge, as protobuf defines
            for (int p = 0; p < parts; p++) {
                randomRequest(random).writeTo(wire);
            }
            merged += parts > 1 ? 1 : 0;
            byte[] bytes = wire.toByteArray();
            CheckRequest parsed = CheckRequest.parseFrom(bytes);
            CheckFields expected = CheckFields.of(parsed);
            CheckFields actual = decode(bytes);
            assertEquals(new CheckFields(expected.certificate(), expected.sourcePrincipal(),
                    expected.destinationPrincipal(), expected.destinationPort(), expected.contextPolicyIds(),
                    expected.http(), bytes.length), actual, "request " + i + ": " + parsed);
        }
        assertTrue(merged > 1000);
    }

    /** Corrupted encodings: whatever the generated parser accepts, the decoder accepts and reads alike. */
    @Test
    void neverRejectsWhatTheGeneratedParserAcceptsNorReadsItDifferently() throws Exception {
        Random random = new Random(7);
        int accepted = 0;
        for (int i = 0; i < 5000; i++) {
            byte[] bytes = randomRequest(random).toByteArray();
            int flips = 1 + random.nextInt(3);
            for (int f = 0; f < flips && bytes.length > 0; f++) {
                bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
            }
            CheckRequest parsed;
            try {
                parsed = CheckRequest.parseFrom(bytes);
            } catch (InvalidProtocolBufferException e) {
                continue; // rejected by the generated parser; the decoder may decode what it reads, or reject too
            }
            accepted++;
            CheckFields expected = CheckFields.of(parsed);
            assertEquals(new CheckFields(expected.certificate(), expected.sourcePrincipal(),
                    expected.destinationPrincipal(), expected.destinationPort(), expected.contextPolicyIds(),
                    expected.http(), bytes.length), decode(bytes), "corrupted request " + i);
        }
        assertTrue(accepted > 500, "enough corrupted encodings still parse: " + accepted);
    }

    @Test
    void aOneofSwitchedAwayFromTheSocketAddressLeavesNoPort() throws Exception {
        CheckRequest port = destination(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                .setAddress("10.0.0.2").setPortValue(8443)).build());
        CheckRequest pipe = destination(Address.newBuilder().setPipe(Pipe.newBuilder().setPath("/run/x")).build());
        CheckRequest named = destination(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                .setNamedPort("https")).build());
        CheckRequest internal = destination(Address.newBuilder().setEnvoyInternalAddress(
                EnvoyInternalAddress.newBuilder().setServerListenerName("l")).build());
        assertEquals(8443, decode(port.toByteArray()).destinationPort());
        assertEquals(0, decode(concat(port, pipe)).destinationPort());
        assertEquals(0, decode(concat(port, named)).destinationPort());
        assertEquals(0, decode(concat(port, internal)).destinationPort());
        assertEquals(8443, decode(concat(pipe, port)).destinationPort());
        assertEquals(8443, decode(concat(named, port)).destinationPort());
        // The same oneof member twice merges: an address without a port keeps the earlier port
        CheckRequest addressOnly = destination(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                .setAddress("10.0.0.9")).build());
        assertEquals(8443, decode(concat(port, addressOnly)).destinationPort());
        // protobuf-java's quirk, followed: back from a pipe, the socket address merges into the first one
        byte[] back = concat(concat(port, pipe), addressOnly.toByteArray());
        assertEquals(8443, decode(back).destinationPort());
        for (byte[] b : new byte[][] {concat(port, pipe), concat(port, named), concat(pipe, port), concat(port, addressOnly), back}) {
            assertEquals(CheckRequest.parseFrom(b).getAttributes().getDestination().getAddress().getSocketAddress()
                    .getPortValue(), decode(b).destinationPort());
        }
    }

    @Test
    void theLastPolicyExtensionWinsAndOtherKeysAreIgnored() throws Exception {
        CheckRequest a = CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .putContextExtensions(KEY, "a,b").putContextExtensions("other", "x")).build();
        CheckRequest b = CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .putContextExtensions(KEY, "")).build();
        assertEquals("a,b", decode(a.toByteArray()).contextPolicyIds());
        assertEquals("", decode(concat(a, b)).contextPolicyIds(), "present and empty means: require none");
        assertNull(decode(CheckRequest.getDefaultInstance().toByteArray()).contextPolicyIds());
    }

    @Test
    void aStringTheDecisionReadsMustBeUtf8() {
        byte[] bad = {(byte) 0xC3, (byte) 0x28};
        for (int peerField : new int[] {4, 5}) { // principal, certificate
            byte[] peer = field(peerField, bad);
            byte[] attributes = field(1, peer); // source
            byte[] request = field(1, attributes);
            assertThrows(InvalidProtocolBufferException.class, () -> CheckRequest.parseFrom(request));
            if (peerField == 4) {
                assertThrows(InvalidProtocolBufferException.class, () -> decode(request));
            } else { // the certificate's bytes are kept as sent; the decider refuses them (AuthzDeciderTest)
                assertArrayEquals(bad, decodeUnchecked(request).certificate());
            }
        }
        byte[] entry = concat(field(1, KEY.getBytes(StandardCharsets.US_ASCII)), field(2, bad));
        byte[] request = field(1, field(10, entry));
        assertThrows(InvalidProtocolBufferException.class, () -> CheckRequest.parseFrom(request));
        assertThrows(InvalidProtocolBufferException.class, () -> decode(request));
    }

    @Test
    void truncatedStrayEndGroupAndDeeplyNestedGroupsAreRejectedWithoutOverflow() {
        byte[] ok = CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .setSource(AttributeContext.Peer.newBuilder().setCertificate("x".repeat(300)))).build().toByteArray();
        assertThrows(InvalidProtocolBufferException.class, () -> decode(java.util.Arrays.copyOf(ok, ok.length - 1)));
        byte[] endGroup = {(byte) (7 << 3 | 4)}; // end group of field 7 where a field should start
        assertThrows(InvalidProtocolBufferException.class, () -> CheckRequest.parseFrom(endGroup));
        assertThrows(InvalidProtocolBufferException.class, () -> decode(endGroup));
        // 200,000 nested start-group tags of an unknown field: rejected by the recursion limit, not a stack overflow
        byte[] groups = new byte[200_000];
        java.util.Arrays.fill(groups, (byte) (7 << 3 | 3));
        assertThrows(InvalidProtocolBufferException.class, () -> CheckRequest.parseFrom(groups));
        assertThrows(InvalidProtocolBufferException.class, () -> decode(groups));
    }

    @Test
    void theMarshallerDecodesWhatTheTransportHandsItAndFailsMalformedCallsAsInternal() throws Exception {
        AttestationAuthzService.CheckFieldsMarshaller m = new AttestationAuthzService.CheckFieldsMarshaller();
        CheckRequest r = destination(socket("10.1.1.1", 9443));
        assertEquals(decode(r.toByteArray()), m.parse(new java.io.ByteArrayInputStream(r.toByteArray())));
        int[] read = {0};
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> m.parse(new KnownLengthStream(10, read))); // ten zero bytes: tag 0 is invalid
        assertEquals(io.grpc.Status.Code.INTERNAL, e.getStatus().getCode());
        assertEquals(10, read[0], "read to its known length, once");
    }

    /** A gRPC-like message stream of {@code length} zero bytes that counts what is read. */
    private static final class KnownLengthStream extends InputStream implements io.grpc.KnownLength {
        private int left;
        private final int[] read;

        KnownLengthStream(int length, int[] read) {
            this.left = length;
            this.read = read;
        }

        @Override
        public int available() {
            return left;
        }

        @Override
        public int read() {
            if (left == 0) {
                return -1;
            }
            left--;
            read[0]++;
            return 0;
        }
    }

    private static CheckFields decodeUnchecked(byte[] b) {
        try {
            return decode(b);
        } catch (InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }

    private static CheckFields decode(byte[] b) throws InvalidProtocolBufferException {
        return CheckFields.decode(b, 0, b.length);
    }

    private static CheckRequest destination(Address a) {
        return CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .setDestination(AttributeContext.Peer.newBuilder().setAddress(a))).build();
    }

    private static Address socket(String ip, int port) {
        return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port)).build();
    }

    private static byte[] concat(CheckRequest a, CheckRequest b) {
        return concat(a.toByteArray(), b.toByteArray());
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** A length-delimited field: tag, length, bytes (lengths under 128 here). */
    private static byte[] field(int number, byte[] value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(number << 3 | 2);
        out.write(value.length);
        out.writeBytes(value);
        return out.toByteArray();
    }

    private static CheckRequest randomRequest(Random r) {
        AttributeContext.Builder a = AttributeContext.newBuilder();
        if (r.nextInt(4) > 0) {
            a.setSource(randomPeer(r));
        }
        if (r.nextInt(4) > 0) {
            a.setDestination(randomPeer(r));
        }
        if (r.nextBoolean()) {
            AttributeContext.Request.Builder req = AttributeContext.Request.newBuilder()
                    .setTime(com.google.protobuf.Timestamp.newBuilder().setSeconds(r.nextInt(1000)));
            if (r.nextBoolean()) {
                req.setHttp(AttributeContext.HttpRequest.newBuilder().setMethod("GET").setPath("/" + text(r))
                        .putHeaders("x-" + r.nextInt(5), text(r)));
            }
            a.setRequest(req);
        }
        for (int i = r.nextInt(3); i > 0; i--) {
            a.putContextExtensions(r.nextBoolean() ? KEY : "k" + r.nextInt(3), text(r));
        }
        if (r.nextInt(5) == 0) {
            a.setMetadataContext(Metadata.newBuilder().putFilterMetadata("f", Struct.newBuilder()
                    .putFields("v", Value.newBuilder().setStringValue(text(r)).build()).build()));
        }
        if (r.nextInt(5) == 0) {
            a.setTlsSession(AttributeContext.TLSSession.newBuilder().setSni(text(r)));
        }
        return CheckRequest.newBuilder().setAttributes(a).build();
    }

    private static AttributeContext.Peer randomPeer(Random r) {
        AttributeContext.Peer.Builder p = AttributeContext.Peer.newBuilder();
        switch (r.nextInt(5)) {
            case 0 -> p.setAddress(socket("10.0.0." + r.nextInt(255), r.nextInt(65536)));
            case 1 -> p.setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                    .setAddress("h").setNamedPort(text(r))));
            case 2 -> p.setAddress(Address.newBuilder().setPipe(Pipe.newBuilder().setPath("/p" + r.nextInt(9))));
            case 3 -> p.setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress("a")));
            default -> { }
        }
        if (r.nextBoolean()) {
            p.setPrincipal(r.nextBoolean() ? "spiffe://td/node/" + text(r) : "");
        }
        if (r.nextBoolean()) {
            p.setCertificateBytes(ByteString.copyFromUtf8(r.nextInt(4) == 0 ? "" : "%2D%2D" + text(r).repeat(1 + r.nextInt(40))));
        }
        if (r.nextInt(3) == 0) {
            p.setService(text(r)).putLabels("l", text(r));
        }
        return p.build();
    }

    private static String text(Random r) {
        String[] pieces = {"a", "Z", "9", ",", " ", "é", "日本", "%20", "-", "\u00ff"};
        StringBuilder b = new StringBuilder();
        for (int i = r.nextInt(6); i > 0; i--) {
            b.append(pieces[r.nextInt(pieces.length)]);
        }
        return b.toString();
    }

    @Test
    void ofReadsTheSameFieldsFromAMessage() {
        CheckRequest r = CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .setSource(AttributeContext.Peer.newBuilder().setCertificate("abc"))
                .setRequest(AttributeContext.Request.newBuilder().setHttp(AttributeContext.HttpRequest.getDefaultInstance()))
                .putContextExtensions(KEY, "p")).build();
        CheckFields f = CheckFields.of(r);
        assertArrayEquals("abc".getBytes(StandardCharsets.US_ASCII), f.certificate());
        assertTrue(f.http());
        assertEquals("p", f.contextPolicyIds());
    }
}
