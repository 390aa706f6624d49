package dev.attestmesh.authz;

import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A CheckResponse as the Authorization binding sends it: with its protobuf encoding when it is sent
 * many times (the response of a cached allow decision), so it is encoded once, not per Check.
 * Interceptors see this type on {@code sendMessage}; {@link #message()} is the response.
 *
 * @param encoded the message's encoding, or null to encode it when sent
 */
public record AuthzResponse(CheckResponse message, byte[] encoded) {

    static AuthzResponse encoded(CheckResponse message) {
        return new AuthzResponse(message, message.toByteArray());
    }

    /** Sends the stored encoding when there is one, else encodes like the standard marshaller. */
    static final class Marshaller implements MethodDescriptor.Marshaller<AuthzResponse> {
        private final MethodDescriptor.Marshaller<CheckResponse> proto =
                ProtoUtils.marshaller(CheckResponse.getDefaultInstance());

        @Override
        public InputStream stream(AuthzResponse value) {
            return value.encoded() == null ? proto.stream(value.message()) : new EncodedStream(value.encoded());
        }

        @Override
        public AuthzResponse parse(InputStream stream) {
            return new AuthzResponse(proto.parse(stream), null);
        }
    }

    /** The stored bytes, with the length and direct draining gRPC's framer uses to avoid a copy. */
    private static final class EncodedStream extends ByteArrayInputStream implements KnownLength, Drainable {
        EncodedStream(byte[] bytes) {
            super(bytes);
        }

        @Override
        public int drainTo(OutputStream target) throws IOException {
            int n = count - pos;
            target.write(buf, pos, n);
            pos = count;
            return n;
        }
    }
}
