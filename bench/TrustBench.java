import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.policy.RegistriesD;
import dev.davit.oci.policy.SignaturePolicy;
import dev.davit.oci.policy.SigstoreKeys;
import dev.davit.oci.policy.Trust;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.Arrays;

/**
 * The cost of the signature policy on a cached run (issue 39), through the Java API in one warm JVM. Usage:
 * java -cp davit.jar TrustBench.java WORK REF ROUNDS
 * REF (an image in a loopback registry) is signed with a new sigstore key, a policy requiring that key and a
 * registries.d reading sigstore attachments are written, and REF is pulled under them once. Then, ROUNDS times each
 * (after a warm-up), what a cached `davit run` does before it runs (DavitClient.signatures().checkTrust): with no
 * policy (the previous build's cost: nothing), with the policy that admitted the image (a hash of the policy and key files), and
 * with a policy changed since (each call admits it again: the signature read from the registry and verified).
 * Prints one "name p50 p95" line per measure, in microseconds.
 */
public class TrustBench {
    public static void main(String[] a) throws Exception {
        Path work = Path.of(a[0]);
        String ref = a[1];
        int rounds = Integer.parseInt(a[2]);
        String host = ref.substring(0, ref.indexOf('/'));
        Files.createDirectories(work);
        KeyPair pair = SigstoreKeys.generate();
        Path pub = Files.writeString(work.resolve("cosign.pub"), SigstoreKeys.publicPem(pair.getPublic()));
        Path rd = Files.createDirectories(work.resolve("registries.d"));
        Files.writeString(rd.resolve("bench.yaml"), "docker:\n  " + host + ":\n    use-sigstore-attachments: true\n");
        String policy = "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"" + pub + "\"}]}";
        Path p1 = Files.writeString(work.resolve("policy.json"), policy);
        Path p2 = Files.writeString(work.resolve("policy-changed.json"), policy + "\n");
        Trust trust = new Trust(SignaturePolicy.read(p1), RegistriesD.read(rd));
        Trust changed = new Trust(SignaturePolicy.read(p2), RegistriesD.read(rd));
        ClientOptions base = ClientOptions.anonymous(work.resolve("store"));
        try (DavitClient plain = DavitClient.create(base)) {
            plain.signatures().signSigstore(ref, pair.getPrivate(), null);
        }
        try (DavitClient none = DavitClient.create(base);
             DavitClient same = DavitClient.create(base.withTrust(trust));
             DavitClient other = DavitClient.create(base.withTrust(changed))) {
            same.pull(ref);
            report("no-policy", time(rounds, () -> none.signatures().checkTrust(ref)));
            report("policy-unchanged", time(rounds, () -> same.signatures().checkTrust(ref)));
            // each round: the entry records the other trust, so the next call admits it again
            boolean[] flip = {false};
            report("policy-changed", time(rounds, () -> {
                flip[0] = !flip[0];
                (flip[0] ? other : same).signatures().checkTrust(ref);
            }));
        }
    }

    interface Step {
        void run() throws Exception;
    }

    static long[] time(int rounds, Step s) throws Exception {
        for (int i = 0; i < Math.max(5, rounds / 10); i++) {
            s.run();
        }
        long[] us = new long[rounds];
        for (int i = 0; i < rounds; i++) {
            long t0 = System.nanoTime();
            s.run();
            us[i] = (System.nanoTime() - t0) / 1000;
        }
        Arrays.sort(us);
        return us;
    }

    static void report(String name, long[] us) {
        System.out.println(name + " " + us[us.length / 2] + " " + us[(int) Math.min(us.length - 1,
                Math.round(us.length * 0.95))]);
    }
}
