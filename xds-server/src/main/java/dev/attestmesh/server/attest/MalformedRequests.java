package dev.attestmesh.server.attest;

import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.io.InputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a gRPC service answer a request message that does not decode with {@code INVALID_ARGUMENT}.
 * A protobuf {@code string} field must hold valid UTF-8; gRPC-java decodes each message before the
 * service sees it and reports one that breaks this (or any other undecodable message) as {@code
 * UNKNOWN: Application error processing RPC}, as if the server had failed. The caller sent it, so here
 * the message is decoded inside the call instead, and a failure closes the call with
 * {@code INVALID_ARGUMENT} saying so; nothing of the message reaches the service.
 */
public final class MalformedRequests {
    private static final Logger LOG = LoggerFactory.getLogger(MalformedRequests.class);

    /** Hands the undecoded message through, so that it is decoded in {@link Checked#onMessage}. */
    private static final MethodDescriptor.Marshaller<InputStream> UNDECODED = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(InputStream value) {
            return value;
        }

        @Override
        public InputStream parse(InputStream stream) {
            return stream;
        }
    };

    private MalformedRequests() {}

    /** {@code service} with every method's request decoding checked as described above. */
    public static ServerServiceDefinition asInvalidArgument(ServerServiceDefinition service) {
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(service.getServiceDescriptor().getName());
        for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
            b.addMethod(wrap(m));
        }
        return b.build();
    }

    private static <Q, A> ServerMethodDefinition<InputStream, A> wrap(ServerMethodDefinition<Q, A> m) {
        MethodDescriptor<Q, A> method = m.getMethodDescriptor();
        MethodDescriptor<InputStream, A> undecoded = method.toBuilder(UNDECODED, method.getResponseMarshaller()).build();
        ServerCallHandler<Q, A> handler = m.getServerCallHandler();
        return ServerMethodDefinition.create(undecoded, (call, headers) -> {
            Typed<Q, A> typed = new Typed<>(call, method);
            return new Checked<>(call, method, handler.startCall(typed, headers));
        });
    }

    /** Decodes each message; the first that does not decode closes the call and ends the forwarding. */
    private static final class Checked<Q, A> extends ServerCall.Listener<InputStream> {
        private final ServerCall<InputStream, A> call;
        private final MethodDescriptor<Q, A> method;
        private final ServerCall.Listener<Q> delegate;
        private volatile boolean refused;

        Checked(ServerCall<InputStream, A> call, MethodDescriptor<Q, A> method, ServerCall.Listener<Q> delegate) {
            this.call = call;
            this.method = method;
            this.delegate = delegate;
        }

        @Override
        public void onMessage(InputStream message) {
            if (refused) {
                return;
            }
            Q decoded;
            try {
                decoded = method.parseRequest(message);
            } catch (RuntimeException e) {
                refused = true;
                LOG.info("{}: request message refused, it does not decode", method.getFullMethodName());
                call.close(Status.INVALID_ARGUMENT.withDescription("the request is not a valid "
                        + method.getFullMethodName() + " request message (protobuf strings must be valid UTF-8)"),
                        new Metadata());
                return;
            }
            delegate.onMessage(decoded);
        }

        @Override
        public void onHalfClose() {
            if (!refused) {
                delegate.onHalfClose();
            }
        }

        @Override
        public void onCancel() {
            delegate.onCancel();
        }

        @Override
        public void onComplete() {
            delegate.onComplete();
        }

        @Override
        public void onReady() {
            if (!refused) {
                delegate.onReady();
            }
        }
    }

    /** The call as the service sees it: the same call, with the method's own request type. */
    private static final class Typed<Q, A> extends ServerCall<Q, A> {
        private final ServerCall<InputStream, A> call;
        private final MethodDescriptor<Q, A> method;

        Typed(ServerCall<InputStream, A> call, MethodDescriptor<Q, A> method) {
            this.call = call;
            this.method = method;
        }

        @Override
        public void request(int numMessages) {
            call.request(numMessages);
        }

        @Override
        public void sendHeaders(Metadata headers) {
            call.sendHeaders(headers);
        }

        @Override
        public void sendMessage(A message) {
            call.sendMessage(message);
        }

        @Override
        public boolean isReady() {
            return call.isReady();
        }

        @Override
        public void close(Status status, Metadata trailers) {
            call.close(status, trailers);
        }

        @Override
        public boolean isCancelled() {
            return call.isCancelled();
        }

        @Override
        public void setMessageCompression(boolean enabled) {
            call.setMessageCompression(enabled);
        }

        @Override
        public void setCompression(String compressor) {
            call.setCompression(compressor);
        }

        @Override
        public void setOnReadyThreshold(int numBytes) {
            call.setOnReadyThreshold(numBytes);
        }

        @Override
        public SecurityLevel getSecurityLevel() {
            return call.getSecurityLevel();
        }

        @Override
        public Attributes getAttributes() {
            return call.getAttributes();
        }

        @Override
        public String getAuthority() {
            return call.getAuthority();
        }

        @Override
        public MethodDescriptor<Q, A> getMethodDescriptor() {
            return method;
        }
    }
}
