package dev.davit.cli;

import dev.davit.oci.Text;
import dev.davit.oci.client.DavitHome;
import dev.davit.sandbox.Doctor;
import dev.davit.sandbox.SandboxOptions;
import picocli.CommandLine.Command;

/** {@code davit doctor}: which sandbox backends work on this host, and why not. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Check which sandbox backends work on this host: bubblewrap (container; probed by running"
            + " 'true' in new namespaces), runc/crun (reported only) and /dev/kvm (vm; not probed yet).",
            "Exits 0 whatever it finds; see 'available' per backend."})
final class DoctorCommand extends DavitCommand {
    @Override
    protected int run(Output out) {
        Doctor.Report report = new Doctor(SandboxOptions.under(DavitHome.resolve(main.env()))).check();
        out.result(report.toJson(), w -> {
            for (Doctor.Backend b : report.backends()) {
                w.printf("%-12s %-14s %s%n", b.name(), b.available() ? "available" : "not available",
                        Text.printable(b.detail()));
                b.facts().forEach((k, v) -> w.printf("  %-22s %s%n", k + ":", Text.printable(v)));
            }
        });
        return 0;
    }
}
