package dev.attestmesh.server.testing;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.ControlPlaneChannels;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An ADS stream held open as an attested node's Envoy would hold it (mTLS with the node's certificate, asking
 * for its SDS secret), recording how the control plane ends it.
 */
public final class OpenAdsStream implements AutoCloseable {
    private final ManagedChannel channel;
    private final LinkedBlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
    private final CompletableFuture<Status> ended = new CompletableFuture<>();
    private StreamObserver<DiscoveryRequest> requests;
    private String nodeId;

    private OpenAdsStream(ManagedChannel channel) {
        this.channel = channel;
    }

    /** Opens the stream to {@code target} as the node holding {@code creds} and {@code identity}. */
    public static OpenAdsStream open(String target, AgentCredentials creds, ControlPlaneChannels.ClientIdentity identity) {
        OpenAdsStream s = new OpenAdsStream(ControlPlaneChannels.open(target, creds.trustBundle(), Optional.of(identity)));
        StreamObserver<DiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(s.channel)
                .streamAggregatedResources(new StreamObserver<>() {
                    @Override
                    public void onNext(DiscoveryResponse r) {
                        s.responses.add(r);
                    }

                    @Override
                    public void onError(Throwable t) {
                        s.ended.complete(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        s.ended.complete(Status.OK);
                    }
                });
        s.requests = requests;
        s.nodeId = creds.claims().getNodeId();
        requests.onNext(DiscoveryRequest.newBuilder()
                .setNode(Node.newBuilder().setId(creds.claims().getNodeId()).setCluster("lifecycle"))
                .setTypeUrl("type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret")
                .addResourceNames("default").build());
        return s;
    }

    /** Waits for the control plane's first answer: the stream is then really open. */
    public DiscoveryResponse awaitFirstResponse(Duration limit) throws InterruptedException {
        DiscoveryResponse r = responses.poll(limit.toMillis(), TimeUnit.MILLISECONDS);
        if (r == null) {
            throw new AssertionError("no ADS response within " + limit
                    + (ended.isDone() ? "; the stream ended with " + ended.join() : ""));
        }
        return r;
    }

    /** Answers {@code r} as Envoy does: an ACK, or a NACK carrying {@code error} when present. */
    public void answer(DiscoveryResponse r, Optional<String> error) {
        DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId(nodeId))
                .setTypeUrl(r.getTypeUrl()).setResponseNonce(r.getNonce()).addResourceNames("default");
        if (error.isPresent()) {
            b.setErrorDetail(com.google.rpc.Status.newBuilder().setCode(3).setMessage(error.get()));
        } else {
            b.setVersionInfo(r.getVersionInfo());
        }
        synchronized (this) {
            requests.onNext(b.build());
        }
    }

    /** The status the server ended the stream with, if it has. */
    public Optional<Status> endedWith() {
        return ended.isDone() ? Optional.of(ended.join()) : Optional.empty();
    }

    /** Waits for the server to end the stream and returns its status. */
    public Status awaitEnd(Duration limit) throws Exception {
        try {
            return ended.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("the ADS stream was still open after " + limit);
        }
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
