package dev.attestmesh.cli;

import dev.attestmesh.server.demo.MeshDemo;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code attestmesh demo}: an attested mesh in one process, explained step by step. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start a control plane and three simulated nodes on loopback and show who gets in.")
final class DemoCommand implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
        return new MeshDemo(System.out).run() ? 0 : 1;
    }
}
