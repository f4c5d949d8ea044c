package dev.davit.spring.boot;

import dev.davit.sandbox.Doctor;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * davit's doctor as a health indicator: up when a backend can run sandboxes on this host, each backend's verdict
 * (and why not, with the fix) a detail. The doctor probes the host for a moment, so its report is kept for a minute.
 */
public class DavitHealthIndicator implements HealthIndicator {
    /** How long a doctor's report answers health checks. */
    static final Duration KEPT = Duration.ofMinutes(1);

    private final Path home;
    private Doctor.Report report;
    private long reportedAt;

    /** The doctor of davit home {@code home} (null: DAVIT_HOME, else davit's default home). */
    public DavitHealthIndicator(Path home) {
        this.home = home != null ? home : dev.davit.oci.client.DavitHome.resolve(System.getenv());
    }

    @Override
    public Health health() {
        Doctor.Report r = report();
        Health.Builder h = r.anyAvailable() ? Health.up() : Health.down();
        for (Doctor.Backend b : r.backends()) {
            h.withDetail(b.name(), b.available() ? "available" : b.detail());
        }
        return h.build();
    }

    private synchronized Doctor.Report report() {
        if (report == null || System.nanoTime() - reportedAt > KEPT.toNanos()) {
            report = new dev.davit.sandbox.engine.Sandboxes(dev.davit.sandbox.SandboxOptions.under(home)).doctor();
            reportedAt = System.nanoTime();
        }
        return report;
    }
}
