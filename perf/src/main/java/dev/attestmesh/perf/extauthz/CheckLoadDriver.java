package dev.attestmesh.perf.extauthz;

import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Drives unary calls over a set of channels, bounded by both a call count and a duration.
 * Closed loop: {@code inFlight} calls are outstanding at all times (each completion sends the next).
 * Open loop: calls are sent on a fixed schedule whatever the responses do, and latency is taken from
 * the intended send time, so a stall is charged to every call it delayed (no coordinated omission).
 */
public final class CheckLoadDriver {
    private final List<Channel> channels;
    private final MethodDescriptor<CheckRequest, CheckResponse> method;
    private final List<CheckRequest> requests;

    public CheckLoadDriver(List<Channel> channels, MethodDescriptor<CheckRequest, CheckResponse> method,
            List<CheckRequest> requests) {
        this.channels = List.copyOf(channels);
        this.method = method;
        this.requests = List.copyOf(requests);
    }

    public PhaseResult closedLoop(String name, int inFlight, Duration duration, long maxCalls) throws InterruptedException {
        Recorder rec = new Recorder(3);
        AtomicLong started = new AtomicLong();
        AtomicLong done = new AtomicLong();
        AtomicLong notOk = new AtomicLong();
        long t0 = System.nanoTime();
        long deadline = t0 + duration.toNanos();
        CountDownLatch finished = new CountDownLatch(inFlight);
        for (int w = 0; w < inFlight; w++) {
            int worker = w;
            new Object() {
                void next() {
                    long n = started.getAndIncrement();
                    if (n >= maxCalls || System.nanoTime() >= deadline) {
                        finished.countDown();
                        return;
                    }
                    long sent = System.nanoTime();
                    call(worker, n, new Completion() {
                        @Override
                        void completed(boolean ok) {
                            rec.recordValue(System.nanoTime() - sent);
                            done.incrementAndGet();
                            if (!ok) {
                                notOk.incrementAndGet();
                            }
                            next();
                        }
                    });
                }
            }.next();
        }
        finished.await(duration.toSeconds() + 30, TimeUnit.SECONDS);
        double secs = (System.nanoTime() - t0) / 1e9;
        return new PhaseResult(name, "closed", inFlight, done.get(), notOk.get(), secs, rec.getIntervalHistogram());
    }

    public PhaseResult openLoop(String name, int ratePerSecond, Duration duration) throws InterruptedException {
        Recorder rec = new Recorder(3);
        Histogram lag = new Histogram(3); // only the sender thread records here
        AtomicLong done = new AtomicLong();
        AtomicLong notOk = new AtomicLong();
        long total = ratePerSecond * duration.toSeconds();
        CountDownLatch all = new CountDownLatch((int) total);
        long period = 1_000_000_000L / ratePerSecond;
        long t0 = System.nanoTime();
        for (long i = 0; i < total; i++) {
            long intended = t0 + i * period;
            long wait = intended - System.nanoTime();
            if (wait > 20_000) {
                LockSupport.parkNanos(wait - 10_000);
            }
            long now;
            while ((now = System.nanoTime()) < intended) {
                Thread.onSpinWait();
            }
            lag.recordValue(now - intended);
            call((int) (i % channels.size()), i, new Completion() {
                @Override
                void completed(boolean ok) {
                    rec.recordValue(Math.max(0, System.nanoTime() - intended));
                    done.incrementAndGet();
                    if (!ok) {
                        notOk.incrementAndGet();
                    }
                    all.countDown();
                }
            });
        }
        all.await(30, TimeUnit.SECONDS);
        double secs = (System.nanoTime() - t0) / 1e9;
        return new PhaseResult(name, "open " + ratePerSecond + "/s", 0, done.get(), notOk.get(), secs,
                rec.getIntervalHistogram(), lag);
    }

    private void call(int worker, long n, Completion c) {
        Channel ch = channels.get(worker % channels.size());
        CheckRequest req = requests.get((int) (n % requests.size()));
        ClientCalls.asyncUnaryCall(ch.newCall(method, CallOptions.DEFAULT), req, new StreamObserver<>() {
            boolean ok;

            @Override
            public void onNext(CheckResponse r) {
                ok = r.getStatus().getCode() == 0;
            }

            @Override
            public void onError(Throwable t) {
                c.completed(false);
            }

            @Override
            public void onCompleted() {
                c.completed(ok);
            }
        });
    }

    private abstract static class Completion {
        abstract void completed(boolean ok);
    }
}
