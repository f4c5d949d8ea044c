import dev.davit.langchain4j.DavitToolProvider;
import dev.davit.sandbox.workspace.Workspaces;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.service.tool.ToolExecutor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A tool call through davit-langchain4j against the library call it makes, in one JVM, on one workspace: ROUNDS
 * execs of {@code true}, alternating, as LangChain4j's AiServices calls a tool (its ToolExecutor, JSON arguments in,
 * JSON text out) and as the tool calls the library ({@code Workspaces.execs().runSpooled}: the output kept in
 * files, an excerpt in the result). Wall times in ms. Compiled by
 * davit-langchain4j's BenchSourceTest.
 *   java -cp CLASSPATH bench/adapters/AdapterBench.java HOME IMAGE ROUNDS
 */
public class AdapterBench {
    public static void main(String[] a) {
        Path home = Path.of(a[0]);
        int rounds = Integer.parseInt(a[2]);
        String registry = a[1].substring(0, a[1].indexOf('/'));
        try (DavitToolProvider davit = DavitToolProvider.builder().home(home).allowRegistry(registry)
                .allowUnlimited(true).build()) {
            ToolExecutor exec = davit.provideTools(null).aiServiceTools().stream()
                    .filter(t -> t.name().equals("workspace_exec")).findFirst().orElseThrow().toolExecutor();
            String made = davit.call("workspace_create", "{\"env\": \"" + a[1] + "\", \"name\": \"bench\"}");
            if (!made.contains("\"id\"")) {
                throw new IllegalStateException("workspace_create failed: " + made);
            }
            Workspaces library = Workspaces.under(home);
            String id = library.get("bench").id();
            ToolExecutionRequest call = ToolExecutionRequest.builder().id("1").name("workspace_exec")
                    .arguments("{\"workspace\": \"bench\", \"command\": [\"true\"]}").build();
            double[] adapter = new double[rounds];
            double[] direct = new double[rounds];
            for (int i = -5; i < rounds; i++) { // five of each first, not counted: the JIT's warm-up
                // each pair in turn's order: neither side always runs right after the other
                double[] t = (i & 1) == 0 ? new double[] {adapter(exec, call), library(library, id)}
                        : new double[] {0, library(library, id)};
                if ((i & 1) != 0) {
                    t[0] = adapter(exec, call);
                }
                if (i >= 0) {
                    adapter[i] = t[0];
                    direct[i] = t[1];
                }
            }
            print("workspace_exec of true through DavitToolProvider (LangChain4j's ToolExecutor)", adapter);
            print("the library's Workspaces.execs().runSpooled of true (the call the tool makes)", direct);
        }
    }

    /** One exec through the adapter, in ms. */
    private static double adapter(ToolExecutor exec, ToolExecutionRequest call) {
        long t0 = System.nanoTime();
        String r = exec.execute(call, null);
        double ms = (System.nanoTime() - t0) / 1e6;
        if (!r.contains("\"exit_code\":0")) {
            throw new IllegalStateException("the tool's exec failed: " + r);
        }
        return ms;
    }

    /** The same exec as the library call the tool makes, in ms. */
    private static double library(Workspaces library, String id) {
        long t0 = System.nanoTime();
        int code;
        // its output kept in files, an excerpt of output_limit bytes in the result, the files removed after
        try (var x = library.execs().runSpooled(id, List.of("true"), Map.of(), Map.of(), null, null, 16384, null,
                null, null)) {
            code = x.result().exitCode();
        }
        double ms = (System.nanoTime() - t0) / 1e6;
        if (code != 0) {
            throw new IllegalStateException("the library's exec failed: " + code);
        }
        return ms;
    }

    private static void print(String what, double[] ms) {
        double[] s = ms.clone();
        Arrays.sort(s);
        System.out.printf("%s: p50 %.1f ms, p90 %.1f ms%n", what, s[(s.length - 1) / 2],
                s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.9) - 1)]);
    }
}
