package dev.attestmesh.perf.extauthz;

import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;

/**
 * The latency floor: a unary gRPC method that takes the same CheckRequest and answers an empty
 * CheckResponse at once, so its cost is transport, framing and (de)serialisation only.
 */
public final class FloorService {
    public static final MethodDescriptor<CheckRequest, CheckResponse> EMPTY = MethodDescriptor
            .<CheckRequest, CheckResponse>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName("attestmesh.perf.Floor", "Empty"))
            .setRequestMarshaller(ProtoUtils.marshaller(CheckRequest.getDefaultInstance()))
            .setResponseMarshaller(ProtoUtils.marshaller(CheckResponse.getDefaultInstance()))
            .build();

    private FloorService() {}

    public static ServerServiceDefinition definition() {
        return ServerServiceDefinition.builder("attestmesh.perf.Floor")
                .addMethod(EMPTY, ServerCalls.asyncUnaryCall((req, out) -> {
                    out.onNext(CheckResponse.getDefaultInstance());
                    out.onCompleted();
                }))
                .build();
    }
}
