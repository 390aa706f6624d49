package dev.attestmesh.authz;

import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import java.io.IOException;
import java.io.InputStream;

/**
 * A CheckRequest with its encoded size as it arrived, so the size limit costs nothing per Check
 * (computing a parsed message's size walks every field again).
 *
 * @param serializedSize the request's encoded size in bytes
 */
record SizedCheckRequest(CheckRequest request, int serializedSize) {

    /** Parses like the standard protobuf marshaller and notes the message length the transport knows. */
    static final class Marshaller implements MethodDescriptor.Marshaller<SizedCheckRequest> {
        private final MethodDescriptor.Marshaller<CheckRequest> proto =
                ProtoUtils.marshaller(CheckRequest.getDefaultInstance());

        @Override
        public InputStream stream(SizedCheckRequest value) {
            return proto.stream(value.request());
        }

        @Override
        public SizedCheckRequest parse(InputStream stream) {
            int size = -1;
            if (stream instanceof KnownLength) {
                try {
                    size = stream.available(); // gRPC's message streams know their exact remaining length
                } catch (IOException e) {
                    size = -1;
                }
            }
            CheckRequest request = proto.parse(stream);
            return new SizedCheckRequest(request, size >= 0 ? size : request.getSerializedSize());
        }
    }
}
