package dev.davit.sandbox.workspace;

import dev.davit.sandbox.CreateSpec;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.fs.Stat;
import dev.davit.sandbox.backend.Machinery;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The secrets of a workspace: named values given at its creation, kept on the host in
 * {@code <workspace state>/secrets/values.json} (directory 0700, file 0600, written atomically; never in
 * {@code workspace.json}, which holds only their names and sizes), put into the running sandbox as
 * {@code /run/secrets/NAME} on a tmpfs of its own (directory 0700, files 0600, owned by the sandbox's user: never
 * in the sandbox's layer or /workspace, so no diff, snapshot or export carries them; written again at each start),
 * mapped to environment variables of an exec, service or shell on request ({@link #command}) and redacted from
 * what davit shows of them ({@link #redactor}). Immutable. See docs/reference/workspaces/LIFECYCLE.md, Secrets.
 */
public final class Secrets {
    /** Where the sandbox has them. */
    public static final String IN_SANDBOX = CreateSpec.PRIVATE_TMPFS;
    /** The largest value: 64 KiB. */
    public static final int MAX_VALUE = 64 << 10;
    /**
     * The least bytes of a value: a shorter one is no secret worth the name and, as each of its matches becomes a
     * marker of up to 75 bytes, would let output grow manyfold when redacted.
     */
    public static final int MIN_VALUE = 8;
    /** The most all values of a workspace may hold together: 256 KiB. */
    public static final int MAX_TOTAL = 256 << 10;
    /** The most secrets a workspace may have. */
    public static final int MAX_COUNT = 64;
    /** No secrets. */
    public static final Secrets NONE = new Secrets(Map.of());
    static final String DIR = "secrets";
    static final String FILE = "values.json";
    /** How errors name the variables set from secrets: the {@code secretEnv} parameter of exec, service and shell. */
    static final Input SECRET_ENV = Input.SECRET_ENV;
    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,63}");
    /**
     * Runs {@code ARGV} with each {@code VAR NAME} pair's variable set to the content of /run/secrets/NAME, exactly
     * (a last line without a line end included), in the sandbox's own shell: no value is ever on a command line or in
     * the environment of a process on the host. {@code read} is a shell builtin: no other tool is needed.
     */
    private static final String ENV_SCRIPT = "while [ \"$1\" != -- ]; do f=" + IN_SANDBOX + "/$2;"
            + " if [ ! -r \"$f\" ]; then echo \"davit: secret $2 is not in " + IN_SANDBOX + "; restart the"
            + " workspace\" >&2; exit 125; fi;"
            + " v=; l=; while IFS= read -r l; do v=\"$v$l\n\"; done <\"$f\"; export \"$1=$v$l\"; shift 2; done;"
            + " shift; exec \"$@\"";

    /** The longest header value an injected secret makes (8 KiB: servers refuse longer heads). */
    public static final int MAX_HEADER_VALUE = 8 << 10;
    /** The most secrets injected by the egress gate (one per host). */
    public static final int MAX_INJECTIONS = 16;
    /** Where the sandbox has the workspace's egress CA certificate (PEM), when a secret is injected. */
    public static final String CA_IN_SANDBOX = IN_SANDBOX + "/davit-egress-ca.pem";
    static final String INJECT_FILE = "inject.json";
    static final String CA_FILE = "egress-ca.p12";
    private static final Pattern HOST = Pattern.compile(
            "(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?");
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}");
    /** Headers the gate itself frames a request by, or a hop's own: never set from a secret. */
    private static final List<String> RESERVED_HEADERS = List.of("host", "content-length", "transfer-encoding",
            "connection", "upgrade", "te", "trailer", "keep-alive", "proxy-connection", "expect");

    /**
     * A secret the workspace's egress gate adds to HTTPS requests to one host, as a header, instead of the sandbox
     * holding its value (the sandbox's {@code /run/secrets/NAME} holds {@link #placeholder} only). See
     * docs/reference/sandbox/NETWORK.md, "Secrets injected by the gate".
     *
     * @param secret   the secret's name
     * @param host     the host (a DNS name, lower-case, no port: HTTPS on 443)
     * @param header   the header's name (e.g. {@code Authorization})
     * @param template the header's value, where {@code {}} stands for the secret's value (e.g. {@code Bearer {}})
     */
    public record Injection(String secret, String host, String header, String template) {
        /**
         * What the sandbox holds instead of the secret's value.
         *
         * @param secret the secret's name
         * @return {@code davit-injected:NAME}
         */
        public static String placeholder(String secret) {
            return "davit-injected:" + secret;
        }

        /** The header's value for the secret's value {@code v}: the template's bytes with {@code v} for each {} */
        byte[] value(byte[] v) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            String[] parts = template.split("\\{\\}", -1);
            for (int i = 0; i < parts.length; i++) {
                out.writeBytes(parts[i].getBytes(StandardCharsets.UTF_8));
                if (i + 1 < parts.length) {
                    out.writeBytes(v);
                }
            }
            return out.toByteArray();
        }
    }

    private final Map<String, byte[]> values;
    private final List<Injection> injections;
    // the egress CA's store, with injections: loaded, or made once by the first save (what it saved, it keeps)
    private volatile byte[] ca;

    private Secrets(Map<String, byte[]> values) {
        this(values, List.of(), null);
    }

    private Secrets(Map<String, byte[]> values, List<Injection> injections, byte[] ca) {
        this.values = values;
        this.injections = injections;
        this.ca = ca;
    }

    /**
     * These secrets with secret {@code secret} injected by the workspace's egress gate into HTTPS requests to
     * {@code host} as header {@code header} (its value {@code template} with the secret's value for {@code {}}),
     * instead of the sandbox holding the value: the sandbox's {@code /run/secrets/NAME} (and a variable set from
     * it) holds {@link Injection#placeholder}. The workspace's network must be an egress policy that allows
     * {@code host} at port 443; the sandbox is made to trust a CA of the workspace's own, which signs the certificate
     * the gate presents for {@code host}. One injection per host, at most {@link #MAX_INJECTIONS}.
     *
     * @param secret   a secret's name among these
     * @param host     a DNS host name (no wildcard, address or port)
     * @param header   an HTTP header's name, not one that frames a request (Host, Content-Length, Transfer-Encoding,
     *                 Connection, Upgrade, ...)
     * @param template the header's value with {@code {}} where the secret's value goes (e.g. {@code Bearer {}})
     * @return the secrets with the injection
     * @throws DavitException {@link Kind#USAGE} (naming {@code Secrets.inject}) for an unknown secret, a bad host,
     *                        header or template, a value that cannot be in a header (a control character), a second
     *                        injection for a host, or too many
     */
    public Secrets inject(String secret, String host, String header, String template) {
        Input in = Input.SECRET_INJECT;
        byte[] v = secret == null ? null : values.get(secret);
        if (v == null) {
            throw new DavitException(Kind.USAGE, Message.of("no secret '" + secret + "' to inject (", in, "); give it"
                    + " first (", Input.SECRET, ")").value(secret));
        }
        String h = host == null ? "" : host.toLowerCase(java.util.Locale.ROOT);
        if (!HOST.matcher(h).matches()) {
            throw new DavitException(Kind.USAGE, Message.of("bad host '" + host + "' to inject secret " + secret
                    + " for (", in, "); give a DNS name such as api.github.com, without a port or wildcard")
                    .value(host));
        }
        if (header == null || !TOKEN.matcher(header).matches()
                || RESERVED_HEADERS.contains(header.toLowerCase(java.util.Locale.ROOT))
                || header.toLowerCase(java.util.Locale.ROOT).startsWith("proxy-")) {
            throw new DavitException(Kind.USAGE, Message.of("bad header '" + header + "' to inject secret " + secret
                    + " as (", in, "); give a header's name such as Authorization, not one that frames the request"
                    + " (Host, Content-Length, Transfer-Encoding, Connection, Upgrade, ...)").value(header));
        }
        if (template == null || !template.contains("{}")) {
            throw new DavitException(Kind.USAGE, Message.of("the value of header " + header + " for secret " + secret
                    + " has no {} where the secret goes (", in, "); e.g. 'Bearer {}'"));
        }
        Injection inj = new Injection(secret, h, header, template);
        byte[] headerValue = inj.value(v);
        if (headerValue.length > MAX_HEADER_VALUE) {
            throw new DavitException(Kind.USAGE, Message.of("header " + header + " for secret " + secret + " would hold "
                    + headerValue.length + " bytes, more than " + MAX_HEADER_VALUE + " (", in, "); give a shorter"
                    + " value"));
        }
        for (byte b : headerValue) {
            if ((b >= 0 && b < 0x20 && b != '\t') || b == 0x7f) {
                throw new DavitException(Kind.USAGE, Message.of("header " + header + " for secret " + secret + " would"
                        + " hold a control character (CR, LF, NUL, ...), which no header can (", in, "); give a"
                        + " value without one"));
            }
        }
        for (Injection o : injections) {
            if (o.host().equals(h)) {
                throw new DavitException(Kind.USAGE, Message.of("host " + h + " has a secret injected already (", in,
                        "); give one per host"));
            }
        }
        if (injections.size() >= MAX_INJECTIONS) {
            throw new DavitException(Kind.USAGE, Message.of("too many injected secrets; give at most "
                    + MAX_INJECTIONS + " (", in, ")"));
        }
        List<Injection> all = new ArrayList<>(injections);
        all.add(inj);
        return new Secrets(values, List.copyOf(all), null);
    }

    /**
     * The secrets the egress gate injects, in the order given.
     *
     * @return an unmodifiable list; empty when there are none
     */
    public List<Injection> injections() {
        return injections;
    }

    /**
     * Checks that {@code network} lets the egress gate inject these secrets: an egress policy that allows each
     * injection's host at port 443.
     *
     * @param network the workspace's network
     * @throws DavitException USAGE naming what to allow
     */
    public void checkInjectable(dev.davit.sandbox.Network network) {
        if (injections.isEmpty()) {
            return;
        }
        if (network.mode() != dev.davit.sandbox.Network.Mode.POLICY) {
            throw new DavitException(Kind.USAGE, Message.of("secrets are injected (", Input.SECRET_INJECT, ") by the"
                    + " egress gate of a workspace with an egress policy; allow the hosts (", Input.ALLOW_HOST, ")"));
        }
        for (Injection i : injections) {
            if (!network.egress().name(i.host(), 443).allowed()) {
                throw new DavitException(Kind.USAGE, Message.of("secret " + i.secret() + " is injected for "
                        + i.host() + ", which the egress policy does not allow at port 443; allow it (",
                        Input.ALLOW_HOST, " " + i.host() + ")").value(i.host()));
            }
        }
    }

    /**
     * Secrets of {@code values} (name to value), checked: names as environment variable names (letters, digits,
     * {@code _}, not starting with a digit, at most 64), each value {@link #MIN_VALUE} bytes to {@link #MAX_VALUE},
     * all together at most {@link #MAX_TOTAL}, at most {@link #MAX_COUNT} of them. Errors name {@code Secrets.of}.
     *
     * @param values secret name to value, in the order to keep (the values are copied)
     * @return the checked secrets; empty (as {@link #NONE}) for an empty map
     * @throws DavitException {@link Kind#USAGE} when a name is malformed or a value is missing, too short or too long,
     *                        or there are too many or too many bytes
     */
    public static Secrets of(Map<String, byte[]> values) {
        Input flag = Input.SECRET;
        if (values.size() > MAX_COUNT) {
            throw new DavitException(Kind.USAGE, "too many secrets (" + values.size() + "); give at most " + MAX_COUNT);
        }
        long total = 0;
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> e : values.entrySet()) {
            check(e.getKey(), flag);
            byte[] v = e.getValue();
            if (v == null || v.length == 0) {
                throw new DavitException(Kind.USAGE, Message.of("secret " + e.getKey() + " is empty; give it a value (",
                        flag, ")").about(Subject.Type.SECRET, e.getKey()));
            }
            if (v.length < MIN_VALUE) {
                throw new DavitException(Kind.USAGE, Message.of("secret " + e.getKey() + " holds " + v.length
                        + " bytes, fewer than " + MIN_VALUE + "; give a longer value (", flag, ")")
                        .about(Subject.Type.SECRET, e.getKey()));
            }
            if (v.length > MAX_VALUE) {
                throw new DavitException(Kind.USAGE, Message.of("secret " + e.getKey() + " holds " + v.length
                        + " bytes, more than " + (MAX_VALUE >> 10) + " KiB; give a smaller value (", flag, ")")
                        .about(Subject.Type.SECRET, e.getKey()));
            }
            total += v.length;
            m.put(e.getKey(), v.clone());
        }
        if (total > MAX_TOTAL) {
            throw new DavitException(Kind.USAGE, Message.of("the secrets hold " + total + " bytes together, more"
                    + " than " + (MAX_TOTAL >> 10) + " KiB; give fewer or smaller ones (", flag, ")"));
        }
        return new Secrets(Collections.unmodifiableMap(m));
    }

    /**
     * Checks a secret's (or an environment variable's) name; {@code flag} says in the error where it came from.
     *
     * @param name the name: 1 to 64 letters, digits or {@code _}, not starting with a digit
     * @param flag where the name came from, named in the error message (a method, e.g. {@code Secrets.of}, or a
     *             caller's own option)
     * @throws DavitException {@link Kind#USAGE} when {@code name} is null or malformed
     */
    public static void checkName(String name, String flag) {
        check(name, flag);
    }

    /** {@link #checkName}, {@code flag} an {@link Input} or a caller's own text. */
    private static void check(String name, Object flag) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new DavitException(Kind.USAGE, Message.of("bad secret name '" + name + "' (", flag, "); use up to"
                    + " 64 letters, digits or '_', not starting with a digit, as an environment variable's name")
                    .value(name));
        }
    }

    /**
     * Whether there are no secrets.
     *
     * @return true for {@link #NONE} and any other empty set
     */
    public boolean isEmpty() {
        return values.isEmpty();
    }

    /**
     * The names, in the order given.
     *
     * @return an unmodifiable list of the secrets' names
     */
    public List<String> names() {
        return List.copyOf(values.keySet());
    }

    /**
     * What the workspace's state and JSON show of them: each secret's name and size, and where the gate injects
     * it, no value.
     *
     * @return an unmodifiable list, one entry per secret, in the order given
     */
    public List<Workspace.SecretInfo> metadata() {
        return values.entrySet().stream().map(e -> new Workspace.SecretInfo(e.getKey(), e.getValue().length,
                injections.stream().filter(i -> i.secret().equals(e.getKey())).map(i -> i.host() + ":" + i.header())
                        .findFirst().orElse(null))).toList();
    }

    /** The redactor of these values: a new {@link Redactor} that replaces each value with {@code [REDACTED:NAME]}. */
    /**
     * Refuses variables {@code env} (a workspace's own, which its status shows) when one holds a secret's value: a
     * secret reaches a command through {@code secretEnv}, never as a variable everybody sees.
     *
     * @throws DavitException USAGE naming the variable (never the value)
     */
    void refuseInVariables(Map<String, String> env) {
        if (isEmpty() || env == null) {
            return;
        }
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (e.getValue() != null && !redactor().redact(e.getValue()).equals(e.getValue())) {
                throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("variable "
                        + dev.davit.oci.internal.Text.printable(e.getKey()) + " holds a secret's value, and a"
                        + " workspace's variables are shown by its status; give the secret to the commands that need"
                        + " it with ", dev.davit.oci.Input.SECRET_ENV, " instead of ", dev.davit.oci.Input.WORKSPACE_ENV));
            }
        }
    }

    Redactor redactor() {
        return Redactor.of(values);
    }

    /** Writes the values into {@code workspaceDir/secrets/values.json} (see the class comment). */
    void save(Path workspaceDir) throws IOException {
        if (isEmpty()) {
            return;
        }
        Path dir = workspaceDir.resolve(DIR);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
                    "rwx------")));
        }
        ObjectNode o = Json.object();
        values.forEach((n, v) -> o.put(n, Base64.getEncoder().encodeToString(v)));
        Fs.writeAtomically(dir.resolve(FILE), Json.bytes(o), dir); // its temp file is 0600 from the start
        if (!injections.isEmpty()) {
            com.fasterxml.jackson.databind.node.ArrayNode a = Json.array();
            for (Injection i : injections) {
                a.addObject().put("secret", i.secret()).put("host", i.host()).put("header", i.header())
                        .put("template", i.template());
            }
            Fs.writeAtomically(dir.resolve(INJECT_FILE), Json.bytes(a), dir);
            if (ca == null) {
                ca = EgressCa.create(injections.stream().map(Injection::host).toList()).store();
            }
            Fs.writeAtomically(dir.resolve(CA_FILE), ca, dir); // the CA's key: 0600 beside the values
        }
    }

    /** The secrets saved in {@code workspaceDir} (none when there are none). */
    static Secrets load(Path workspaceDir) {
        Path f = workspaceDir.resolve(DIR).resolve(FILE);
        JsonNode o;
        try {
            o = Json.read(Files.readAllBytes(f));
        } catch (NoSuchFileException e) {
            return NONE;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read the workspace's secrets in " + f + ": "
                    + e.getMessage());
        }
        Map<String, byte[]> m = new LinkedHashMap<>();
        o.fields().forEachRemaining(e -> m.put(e.getKey(), Base64.getDecoder().decode(e.getValue().asText())));
        Path inj = workspaceDir.resolve(DIR).resolve(INJECT_FILE);
        if (!Files.exists(inj, LinkOption.NOFOLLOW_LINKS)) {
            return new Secrets(Collections.unmodifiableMap(m));
        }
        try {
            List<Injection> list = new ArrayList<>();
            for (JsonNode i : Json.read(Files.readAllBytes(inj))) {
                list.add(new Injection(i.path("secret").asText(), i.path("host").asText(), i.path("header").asText(),
                        i.path("template").asText()));
            }
            byte[] store = Files.readAllBytes(workspaceDir.resolve(DIR).resolve(CA_FILE));
            return new Secrets(Collections.unmodifiableMap(m), List.copyOf(list), store);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read the workspace's injected secrets in " + inj + ": "
                    + e.getMessage());
        }
    }

    /** What the sandbox holds as secret {@code name}: its value, or a placeholder for one the gate injects. */
    private byte[] inSandbox(String name) {
        for (Injection i : injections) {
            if (i.secret().equals(name)) {
                return Injection.placeholder(name).getBytes(StandardCharsets.US_ASCII);
            }
        }
        return values.get(name);
    }

    /** The trust stores {@link #TRUST_SCRIPT} appends the egress CA to (following a link, as {@code >>} does). */
    static final List<String> TRUST_STORES = List.of("/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt");

    /**
     * A trust store's content without the egress CA blocks {@link #TRUST_SCRIPT} appended ({@link EgressCaStrip}):
     * each mark line, the blank line before it, and the certificate after it. Empty when nothing else was there (a
     * store davit made).
     *
     * @param store the file's content
     * @return the content without davit's certificates (the same array when it has none)
     */
    static byte[] withoutEgressCa(byte[] store) {
        return EgressCaStrip.strip(store);
    }

    /**
     * Appends the CA certificate at {@link #CA_IN_SANDBOX} to the sandbox's trust stores that exist (Debian's and
     * Alpine's, Fedora's), once (a marker line before it), or makes Debian's when there is none; {@code $1} runs a
     * tool (a guest's {@code t}, else the command itself).
     */
    private static final String TRUST_SCRIPT = "ca=" + CA_IN_SANDBOX + "; mark=\"# davit egress CA $2\"; found=;"
            + " for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do"
            + " if [ -f \"$f\" ]; then found=1; if ! $1 grep -qxF \"$mark\" \"$f\"; then"
            + " { echo; echo \"$mark\"; $1 cat \"$ca\"; } >> \"$f\" || exit 1; fi; fi; done;"
            + " if [ -z \"$found\" ]; then $1 mkdir -p /etc/ssl/certs && { echo \"$mark\"; $1 cat \"$ca\"; }"
            + " > /etc/ssl/certs/ca-certificates.crt || exit 1; fi";

    /**
     * The egress CA into the sandbox's trust stores ({@link #TRUST_SCRIPT}) and the injections into its gate (a new
     * leaf certificate for the hosts, the header values): after the files are in /run/secrets.
     */
    private void injectInto(Sandboxes sandboxes, String sandboxId, String workspace, boolean vm) {
        EgressCa authority;
        try {
            authority = EgressCa.load(ca);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read the egress CA of workspace " + workspace + ": "
                    + e.getMessage());
        }
        String mark = Integer.toHexString(java.util.Arrays.hashCode(ca));
        dev.davit.sandbox.ExecResult r = sandboxes.exec(sandboxId, List.of("/bin/sh", "-c", (vm ? GUEST_TOOLS : "")
                + TRUST_SCRIPT, "davit-egress-ca", vm ? "t" : "", mark), Map.of(), "/",
                java.time.Duration.ofSeconds(30));
        if (r.exitCode() != 0) {
            throw new DavitException(Kind.USAGE, "cannot add the egress CA of workspace " + workspace + " to its trust"
                    + " store (exit code " + r.exitCode() + ": " + redactor().redact(r.stderrText().strip())
                    + "); the image needs /bin/sh, grep and cat, and its exec user must be root");
        }
        List<String> lines = new ArrayList<>();
        EgressCa.Leaf leaf = authority.leaf(injections.stream().map(Injection::host).toList());
        Base64.Encoder b64 = Base64.getEncoder();
        lines.add("chain " + String.join(" ", leaf.chain().stream().map(b64::encodeToString).toList()));
        lines.add("key " + b64.encodeToString(leaf.key()));
        for (Injection i : injections) {
            lines.add("rule " + i.host() + " " + i.header() + " "
                    + Base64.getEncoder().encodeToString(i.value(values.get(i.secret()))));
        }
        Machinery.of(sandboxes).injectSecrets(sandboxId, lines);
    }

    /**
     * Puts the values into running container sandbox {@code sandboxId} as /run/secrets/NAME (see the class comment):
     * the directory made 0700 and the sandbox user's through the host's view of it (a {@link Dir} of that very
     * tmpfs), each file written by an exec in the sandbox, as its user, from standard input. Refused when
     * /run/secrets is not a tmpfs of the sandbox's own (a sandbox its keeper started before davit made one: a restart
     * makes it). A microVM's: see {@link #materialiseInGuest}. {@code workspaceDir}: the workspace's state directory,
     * where the values are saved. Its errors are redacted (what a sandbox answers may hold a value).
     */
    void materialise(Sandboxes sandboxes, String sandboxId, String workspace, Path workspaceDir) {
        if (isEmpty()) {
            return;
        }
        try {
            materialiseUnredacted(sandboxes, sandboxId, workspace, workspaceDir);
        } catch (DavitException e) { // what the sandbox answers (an agent's error, a console's tail) may hold a value
            throw SecretUse.redacted(e, redactor());
        }
    }

    private void materialiseUnredacted(Sandboxes sandboxes, String sandboxId, String workspace, Path workspaceDir) {
        Sandbox s = sandboxes.status(sandboxId);
        if (s.status() != SandboxStatus.RUNNING) {
            return; // written at its next start
        }
        if (s.spec().filesInGuest()) {
            materialiseInGuest(sandboxes, sandboxId, workspace, workspaceDir);
            return;
        }
        long device = tmpfs(s, workspace);
        int[] owner = Machinery.of(sandboxes).hostOwner(sandboxId);
        // the tmpfs is a mount of its own: reached in the sandbox's root (links resolved there, never out of it)
        // and checked to be that very mount, which the sandbox can neither move nor replace
        try (Dir top = Machinery.of(sandboxes).openFiles(sandboxId); Dir d = top.inRoot(IN_SANDBOX)) {
            Stat self = d.stat("");
            if (self == null || self.dev() != device || !self.isDirectory()) {
                throw new DavitException(Kind.USAGE, Message.of("workspace " + workspace + "'s " + IN_SANDBOX
                        + " is not its own tmpfs; restart it with ", Action.RESTART_WORKSPACE.fix())
                        .about(Subject.Type.WORKSPACE, workspace));
            }
            d.chmod("", 0700);
            if (owner != null) {
                // the directory itself, through davit's own descriptor of it (never a path the sandbox controls)
                Path self2 = d.self();
                Files.setAttribute(self2, "unix:gid", owner[1]);
                Files.setAttribute(self2, "unix:uid", owner[0]);
            }
        } catch (UnsupportedOperationException e) {
            throw new DavitException(Kind.USAGE, "secrets are not supported yet for a rootless workspace whose"
                    + " image User is not root; create it as root, or with an image whose User is root");
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot prepare " + IN_SANDBOX + " of workspace " + workspace
                    + ": " + e.getMessage());
        }
        // the files are written by the sandbox's own user, in the sandbox: the tmpfs belongs to the sandbox's user
        // namespace, where the host's users have no id to create files with; the value goes through the exec's
        // standard input, never a command line or an environment
        for (Map.Entry<String, byte[]> e : inSandbox().entrySet()) {
            dev.davit.sandbox.ExecResult r = sandboxes.exec(sandboxId, dev.davit.sandbox.ExecSpec.builder(
                    "/bin/sh", "-c", PUT_SCRIPT, "davit-secret-put", e.getKey()).workdir("/")
                    .timeout(java.time.Duration.ofSeconds(30)).stdin(new java.io.ByteArrayInputStream(e.getValue()))
                    .build());
            if (r.exitCode() != 0) {
                throw new DavitException(Kind.USAGE, "cannot put secret " + e.getKey() + " into " + IN_SANDBOX
                        + " of workspace " + workspace + " (exit code " + r.exitCode() + ": "
                        + redactor().redact(r.stderrText().strip()) + "); the image needs /bin/sh, cat and mv");
            }
        }
        if (!injections.isEmpty()) {
            injectInto(sandboxes, sandboxId, workspace, false);
        }
    }

    /**
     * The files of /run/secrets: each secret's value (a placeholder for one the gate injects) and, with injections,
     * the egress CA's certificate ({@link #CA_IN_SANDBOX}).
     */
    private Map<String, byte[]> inSandbox() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (String n : values.keySet()) {
            m.put(n, inSandbox(n));
        }
        if (!injections.isEmpty()) {
            try {
                m.put(CA_IN_SANDBOX.substring(IN_SANDBOX.length() + 1),
                        EgressCa.load(ca).pem().getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot read the workspace's egress CA: " + e.getMessage());
            }
        }
        return m;
    }

    /**
     * A shell function {@code t}: runs a tool of the guest's image, or the same of davit's static busybox in the
     * guest (an image may lack mount, grep, chmod or chown).
     */
    private static final String GUEST_TOOLS = "t() { if command -v \"$1\" >/dev/null 2>&1; then \"$@\"; else"
            + " /.davit/busybox \"$@\"; fi; }; ";

    /**
     * Mounts a tmpfs of its own on the guest's /run/secrets (unless one is there: a restart of the guest's processes
     * keeps it), 0700 and the exec user's: the values never reach the VM's disk, so no diff, snapshot, export or disk
     * inspection carries them.
     */
    private static final String GUEST_TMPFS_SCRIPT = GUEST_TOOLS + "d=" + IN_SANDBOX + "; t mkdir -p \"$d\" || exit 1;"
            + " if ! t grep -qs \" $d tmpfs \" /proc/mounts; then t mount -t tmpfs -o mode=0700,size=1m,nosuid,nodev"
            + " davit-secrets \"$d\" || exit 1; fi; t chmod 0700 \"$d\" && t chown \"$(t id -u):$(t id -g)\" \"$d\"";

    /**
     * {@link #materialise} in a microVM: the tmpfs made by an exec in the guest ({@link #GUEST_TMPFS_SCRIPT}), the
     * files put by its agent from a tar the host writes beside the saved values (0600 in their 0700 directory) and
     * deletes at once, then made 0600 and the exec user's. What the guest does with them is the guest's:
     * it runs the workspace's code, which may read them anyway.
     */
    private void materialiseInGuest(Sandboxes sandboxes, String sandboxId, String workspace, Path workspaceDir) {
        guestExec(sandboxes, sandboxId, workspace, List.of("/bin/sh", "-c", GUEST_TMPFS_SCRIPT));
        Map<String, byte[]> files = inSandbox();
        Path tar = null;
        try {
            tar = Files.createTempFile(workspaceDir.resolve(DIR), ".put-", ".tar",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (var out = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(
                    Files.newOutputStream(tar))) {
                for (Map.Entry<String, byte[]> e : files.entrySet()) {
                    var entry = new org.apache.commons.compress.archivers.tar.TarArchiveEntry(e.getKey());
                    entry.setMode(0100600);
                    entry.setSize(e.getValue().length);
                    out.putArchiveEntry(entry);
                    out.write(e.getValue());
                    out.closeArchiveEntry();
                }
            }
            Machinery.of(sandboxes).guestFiles(sandboxId).putTar(IN_SANDBOX, tar);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot put the secrets of workspace " + workspace + " into its"
                    + " microVM: " + e.getMessage());
        } finally {
            if (tar != null) {
                try {
                    Files.deleteIfExists(tar);
                } catch (IOException ignored) {
                    // 0600 in the temp directory; nothing more to do
                }
            }
        }
        List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", GUEST_TOOLS + "cd " + IN_SANDBOX
                + " && t chmod 0600 \"$@\" && t chown \"$(t id -u):$(t id -g)\" \"$@\"", "davit-secret-own"));
        argv.addAll(files.keySet());
        guestExec(sandboxes, sandboxId, workspace, argv);
        if (!injections.isEmpty()) {
            injectInto(sandboxes, sandboxId, workspace, true);
        }
    }

    private void guestExec(Sandboxes sandboxes, String sandboxId, String workspace, List<String> argv) {
        dev.davit.sandbox.ExecResult r = sandboxes.exec(sandboxId, argv, Map.of(), "/",
                java.time.Duration.ofSeconds(30));
        if (r.exitCode() != 0) {
            throw new DavitException(Kind.USAGE, "cannot prepare " + IN_SANDBOX + " of workspace " + workspace
                    + " in its microVM (exit code " + r.exitCode() + ": " + redactor().redact(r.stderrText().strip())
                    + "); the guest needs /bin/sh, and its exec user must be root");
        }
    }

    /** Writes its standard input to /run/secrets/$1 (0600, the exec's user's), through a temp file and a rename. */
    private static final String PUT_SCRIPT = "umask 077; t=" + IN_SANDBOX + "/.davit-put.$$;"
            + " if cat >\"$t\" && mv -f \"$t\" \"" + IN_SANDBOX + "/$1\"; then exit 0; fi; rm -f \"$t\"; exit 1";

    /** Whether every value is in /run/secrets of running sandbox {@code sandboxId} (as a regular file). */
    boolean present(Sandboxes sandboxes, String sandboxId) {
        if (sandboxes.status(sandboxId).spec().filesInGuest()) { // one look through the agent: they go in together
            try {
                Machinery.of(sandboxes).guestFiles(sandboxId).read(IN_SANDBOX + "/" + values.keySet().iterator().next(), 1);
                return true;
            } catch (DavitException e) {
                return false;
            }
        }
        try (Dir top = Machinery.of(sandboxes).openFiles(sandboxId); Dir d = top.inRoot(IN_SANDBOX)) {
            for (String n : values.keySet()) {
                Stat st = d.stat(n);
                if (st == null || !st.isRegularFile()) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The device of the tmpfs mounted on /run/secrets in sandbox {@code s}'s mount namespace (as {@link Stat#dev});
     * refused when there is none (a sandbox its keeper started before davit made one: a restart makes it).
     */
    private static long tmpfs(Sandbox s, String workspace) {
        Path info = Path.of("/proc", Long.toString(s.initPid()), "mountinfo");
        try {
            long found = -1;
            for (String line : Files.readAllLines(info, StandardCharsets.UTF_8)) {
                String[] f = line.split(" ");
                int dash = line.indexOf(" - ");
                if (f.length > 4 && f[4].equals(IN_SANDBOX) && dash > 0) {
                    String[] mm = f[2].split(":");
                    // the last mount on it is the one seen
                    found = line.substring(dash + 3).startsWith("tmpfs ")
                            ? (Long.parseLong(mm[0]) << 32) | Long.parseLong(mm[1]) : -1;
                }
            }
            if (found >= 0) {
                return found;
            }
        } catch (IOException | NumberFormatException e) {
            throw new DavitException(Kind.USAGE, "workspace " + workspace + " stopped while davit put its secrets;"
                    + " start it again");
        }
        throw new DavitException(Kind.USAGE, Message.of("workspace " + workspace + "'s sandbox has no tmpfs on "
                + IN_SANDBOX + " for its secrets (an older davit started it); restart it with ",
                Action.RESTART_WORKSPACE.fix()).about(Subject.Type.WORKSPACE, workspace));
    }

    /**
     * {@code argv} run with {@code secretEnv} (variable to secret name) set from /run/secrets, through the
     * sandbox's {@code /bin/sh} ({@link #ENV_SCRIPT}); {@code argv} itself when {@code secretEnv} is empty.
     * {@code env} (the plain variables) must not set the same variables. {@code flag} names the option in errors.
     */
    List<String> command(List<String> argv, Map<String, String> secretEnv, Map<String, String> env,
                         String workspace, Input flag) {
        if (secretEnv == null || secretEnv.isEmpty()) {
            return argv;
        }
        if (argv == null || argv.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give a command to run");
        }
        List<String> out = new ArrayList<>(List.of("/bin/sh", "-c", ENV_SCRIPT, "davit-secret-env"));
        for (Map.Entry<String, String> e : secretEnv.entrySet()) {
            String var = e.getKey();
            check(var, flag);
            if (env != null && env.containsKey(var)) {
                throw new DavitException(Kind.USAGE, Message.of(var + " is set both as a variable and from a secret (",
                        flag, "); give it once"));
            }
            byte[] v = values.get(e.getValue());
            if (v == null) {
                throw new DavitException(Kind.USAGE, Message.of("workspace " + workspace + " has no secret '"
                        + e.getValue() + "' (", flag, " " + var + "=NAME); its secrets: " + (values.isEmpty() ? "none"
                        : String.join(", ", values.keySet()))).about(Subject.Type.WORKSPACE, workspace));
            }
            for (byte b : v) {
                if (b == 0) {
                    throw new DavitException(Kind.USAGE, "secret " + e.getValue() + " holds a NUL byte, which an"
                            + " environment variable cannot; read it from " + IN_SANDBOX + "/" + e.getValue());
                }
            }
            out.add(var);
            out.add(e.getValue());
        }
        out.add("--");
        out.addAll(argv);
        return out;
    }
}
