package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BigIntegerNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.FloatNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.ShortNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.File;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReader;
import java.lang.module.ModuleReference;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * What a program that uses davit's library sees in its API: every public or protected type, field, constructor and
 * method of the exported packages ({@link ModularConsumerTest#API}) names only the JDK's types ({@code java.*}) and
 * the API's own. No Jackson tree (the JSON forms live in davit's own packages), no type of a package the modules do
 * not export (what {@code javac -Xlint:exports} warns of), no other library's type: a consumer needs nothing but
 * davit's modules on its path, and davit may change its dependencies without breaking it. And the API is exactly the
 * listed types ({@link #EXPORTED}): none grows into it unnoticed, e.g. the backends' machinery.
 */
class ApiSurfaceTest {
    /**
     * The API: every type a program that uses davit's library sees (public, or protected in a class it may extend),
     * by package, nested ones after a {@code $}; docs/DESIGN.md counts them. A new API type is a choice made here; what
     * the backends, the CLI or the MCP server need and a user does not (the backends' interface and the machinery
     * they share: {@code dev.davit.sandbox.backend}) stays in a package the modules do not export.
     */
    static final Map<String, List<String>> EXPORTED = Map.ofEntries(
            Map.entry("dev.davit", List.of("Davit", "Davit$Builder", "Davit$WorkspaceBuilder", "Images", "Images$Image", "OpenFiles", "OpenShell",
                    "OpenWorkspace")),
            Map.entry("dev.davit.env", List.of("Catalog", "Environment", "Environment$Kind", "Environment$Signer",
                    "Environment$Source")),
            Map.entry("dev.davit.oci", List.of("Action", "DavitException", "DavitException$Kind", "Fix", "Input", "Message",
                    "Message$Part", "Message$Text", "Subject", "Subject$Type")),
            Map.entry("dev.davit.sandbox", List.of("Captured", "Changes", "Changes$Rewrite", "CreateSpec", "CreateSpec$Builder", "Doctor",
                    "Doctor$Backend", "Doctor$Probe", "Doctor$Report", "EgressDenial", "EgressPolicy", "EgressPolicy$Change",
                    "EgressPolicy$Kind", "EgressPolicy$Rule", "EgressPolicy$SpecialBlock", "EgressPolicy$Verdict", "ExecResult", "ExecResult$Timings",
                    "ExecSpec", "ExecSpec$Builder", "ImageConfig", "Limits", "Mount", "Network", "Network$Mode", "OutputExcerpt",
                    "OutputExcerpt$Rendered",
                    "OutputExcerpt$Tail", "PortMapping", "RunSpec", "RunSpec$Builder", "RunTarget", "Sandbox",
                    "TrustedCas",
                    "SandboxOptions", "SandboxStatus", "SpooledExcerpt")),
            Map.entry("dev.davit.sandbox.engine", List.of("Sandboxes")),
            Map.entry("dev.davit.sandbox.workspace", List.of("DetachedExec", "ExecEntry", "ExecEntry$Stream", "ExecOutput",
                    "ExecOutput$Page", "ExecRequest", "ExecRequest$Builder", "Secrets", "Secrets$Injection", "ServiceSpec",
                    "ServiceSpec$Builder", "Services", "Services$Log", "Services$Readiness", "Services$Service",
                    "Shells", "Shells$Output", "Shells$ReadOptions", "Shells$Shell", "WarmPool", "WarmPool$Room",
                    "Workspace", "Workspace$SecretInfo", "WorkspaceDiff", "WorkspaceDiff$Change", "WorkspaceImages",
                    "WorkspaceImages$Commit", "WorkspaceImages$Commit$Layer", "WorkspaceImages$CommitOptions",
                    "WorkspaceImages$Restored", "WorkspaceImages$SnapshotPush", "WorkspaceImages$Spec",
                    "SnapshotSettings",
                    "WorkspaceDiff$Change$Kind", "WorkspaceDiff$Change$Type", "WorkspaceDiff$PatchPage", "WorkspaceDiff$Collapsed",
                    "WorkspaceLabels", "Workspaces", "Workspaces$Change", "Workspaces$Change$Builder", "Workspaces$Reaped", "Workspaces$Snapshot",
                    "WorkspaceExecs", "WorkspaceExecs$Executed", "WorkspaceExecs$SpooledExecuted",
                    "WorkspaceFiles", "WorkspaceFiles$Copied", "WorkspaceFiles$Edited", "WorkspaceFiles$FileContent",
                    "WorkspaceFiles$FileInfo", "WorkspaceFiles$Patched", "WorkspaceFiles$Progress",
                    "WorkspaceSpec", "WorkspaceSpec$Builder")));

    @Test
    void theApiNamesOnlyTheJdksTypesAndItsOwn() throws Exception {
        Set<String> api = new HashSet<>();
        ModularConsumerTest.API.values().forEach(api::addAll);
        ModuleFinder finder = ModuleFinder.of(Stream.of(ModularConsumerTest.modulePath().split(File.pathSeparator))
                .map(Path::of).toArray(Path[]::new));
        Set<String> found = new TreeSet<>();
        Map<String, Integer> perPackage = new TreeMap<>();
        Set<String> exported = new TreeSet<>();
        for (String module : ModularConsumerTest.API.keySet()) {
            ModuleReference ref = finder.find(module).orElseThrow(() -> new AssertionError("no module " + module));
            Set<String> classes = new TreeSet<>();
            try (ModuleReader r = ref.open(); Stream<String> names = r.list()) {
                // a multi-release jar's classes for newer JDKs are the same classes (the one that loads is checked)
                names.map(n -> n.replaceFirst("^META-INF/versions/[0-9]+/", ""))
                        .filter(n -> n.endsWith(".class") && !n.startsWith("META-INF/") && !n.equals("module-info.class"))
                        .map(n -> n.substring(0, n.length() - 6).replace('/', '.'))
                        .filter(n -> api.contains(n.substring(0, n.lastIndexOf('.')))).forEach(classes::add);
            }
            for (String name : classes) {
                Class<?> c = Class.forName(name, false, getClass().getClassLoader());
                if (visible(c)) {
                    perPackage.merge(c.getPackageName(), 1, Integer::sum);
                    exported.add(name);
                    new Surface(api, c, found).check();
                }
            }
        }
        // every exported package was looked at (none lost to a wrong path or class loader)
        assertThat(perPackage.keySet()).containsExactlyInAnyOrderElementsOf(api);
        assertThat(found).as("API members naming a type outside the JDK and davit's API").isEmpty();
        Set<String> unlisted = new TreeSet<>(exported);
        Set<String> gone = new TreeSet<>();
        EXPORTED.forEach((p, types) -> types.forEach(t -> gone.add(p + "." + t)));
        unlisted.removeAll(gone);
        gone.removeAll(exported);
        assertThat(unlisted).as("exported types not in EXPORTED (an API type is a choice: list it, or keep it out of the"
                + " exported packages)").isEmpty();
        assertThat(gone).as("types in EXPORTED that are not exported").isEmpty();
    }

    /**
     * The API a newcomer holds in their head (issue 74): its top-level types, the nested ones not counted. At most
     * {@value #GOAL}, and exactly {@link #TOP_LEVEL}: a type that leaves the API lowers it, a new one is a choice made
     * here (and in docs/DESIGN.md, which says where it stands).
     */
    @Test
    void theApiHasNoMoreTopLevelTypesThanItHad() {
        List<String> topLevel = EXPORTED.entrySet().stream().flatMap(e -> e.getValue().stream()
                .filter(t -> !t.contains("$")).map(t -> e.getKey() + "." + t)).sorted().toList();
        assertThat(topLevel).as("the API's top-level types (goal: %d)", GOAL).hasSize(TOP_LEVEL);
        assertThat(TOP_LEVEL).as("issue 74's goal").isLessThanOrEqualTo(GOAL);
    }

    /** Issue 74's bound for {@link #TOP_LEVEL} (144 before it). */
    static final int GOAL = 60;
    /** The API's top-level types today. */
    static final int TOP_LEVEL = 53;

    /** A class with one leak through each way a type can be named, and two places that are not API. */
    @SuppressWarnings("unused")
    public abstract static class Leaky<T extends TextNode> extends ArrayList<JsonNode> implements Comparable<ArrayNode> {
        public ObjectNode field;
        private ObjectNode hidden;
        protected BooleanNode forSubclasses;

        public Leaky(IntNode n) {
        }

        public List<? extends LongNode> wildcard() {
            return null;
        }

        public DoubleNode[] array() {
            return null;
        }

        public void parameter(Map<String, BigIntegerNode> m) {
        }

        public void thrower() throws JsonProcessingException {
        }

        public <U extends DecimalNode> void bound() {
        }

        ShortNode packagePrivate() {
            return null;
        }

        /** A nested API type. */
        public interface Inner {
            NullNode implicitlyPublic();
        }

        /** Not API: private. */
        private interface Hidden {
            FloatNode never();
        }
    }

    @Test
    void theCheckFindsEveryWayATypeIsNamed() {
        Set<String> found = new TreeSet<>();
        new Surface(Set.of(), Leaky.class, found).check();
        new Surface(Set.of(), Leaky.Inner.class, found).check();
        String leaky = Leaky.class.getName();
        String node = "com.fasterxml.jackson.databind.node.";
        assertThat(found).contains(
                leaky + " extends: com.fasterxml.jackson.databind.JsonNode",
                leaky + " implements: " + node + "ArrayNode",
                leaky + " type parameters: " + node + "TextNode",
                leaky + ".field: " + node + "ObjectNode",
                leaky + ".forSubclasses: " + node + "BooleanNode",
                leaky + ".<init> parameters: " + node + "IntNode",
                leaky + ".wildcard returns: " + node + "LongNode",
                leaky + ".array returns: " + node + "DoubleNode",
                leaky + ".parameter parameters: " + node + "BigIntegerNode",
                leaky + ".thrower throws: com.fasterxml.jackson.core.JsonProcessingException",
                leaky + ".bound type parameters: " + node + "DecimalNode",
                leaky + "$Inner.implicitlyPublic returns: " + node + "NullNode");
        assertThat(found).noneMatch(f -> f.contains(".hidden") || f.contains("packagePrivate")
                || f.contains("ShortNode") || f.contains("FloatNode"));
        assertThat(visible(dev.davit.sandbox.workspace.Workspace.SecretInfo.class)).isTrue();
        assertThat(visible(Stream.of(Leaky.class.getDeclaredClasses()).filter(k -> k.getSimpleName().equals("Hidden"))
                .findFirst().orElseThrow())).isFalse();
    }

    /**
     * Whether {@code c} and every class it is nested in are public, or protected in a class that is not final (a
     * local or anonymous class is not API).
     */
    static boolean visible(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getDeclaringClass()) {
            boolean inherited = Modifier.isProtected(k.getModifiers()) && k.getDeclaringClass() != null
                    && !Modifier.isFinal(k.getDeclaringClass().getModifiers());
            if (!Modifier.isPublic(k.getModifiers()) && !inherited) {
                return false;
            }
            if (k.isAnonymousClass() || k.isLocalClass() || k.isSynthetic()) {
                return false;
            }
        }
        return true;
    }

    /** The types one API class names, each checked. */
    private record Surface(Set<String> api, Class<?> c, Set<String> found) {
        void check() {
            String where = c.getName();
            walk(where + " extends", c.getGenericSuperclass(), new HashSet<>());
            each(where + " implements", List.of(c.getGenericInterfaces()));
            each(where + " type parameters", List.of(c.getTypeParameters()));
            if (c.isRecord()) {
                for (RecordComponent rc : c.getRecordComponents()) {
                    each(where + "#" + rc.getName(), List.of(rc.getGenericType()));
                }
            }
            for (Field f : c.getDeclaredFields()) {
                if (member(f.getModifiers()) && !f.isSynthetic()) {
                    each(where + "." + f.getName(), List.of(f.getGenericType()));
                }
            }
            for (Constructor<?> k : c.getDeclaredConstructors()) {
                executable(where + ".<init>", k);
            }
            // its own methods, and the public ones it inherits (from a supertype that is not API itself, too)
            Set<Method> methods = new java.util.LinkedHashSet<>(List.of(c.getDeclaredMethods()));
            methods.addAll(List.of(c.getMethods()));
            for (Method m : methods) {
                if (!m.isBridge() && executable(where + "." + m.getName(), m)) {
                    walk(where + "." + m.getName() + " returns", m.getGenericReturnType(), new HashSet<>());
                }
            }
            if (c.isSealed()) {
                for (Class<?> p : c.getPermittedSubclasses()) {
                    walk(where + " permits", p, new HashSet<>());
                }
            }
        }

        private boolean member(int modifiers) {
            return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers) && !Modifier.isFinal(c.getModifiers());
        }

        /** Checks {@code e}'s parameters, exceptions and type parameters when it is API; whether it is. */
        private boolean executable(String where, Executable e) {
            if (!member(e.getModifiers()) || e.isSynthetic()) {
                return false;
            }
            each(where + " parameters", List.of(e.getGenericParameterTypes()));
            each(where + " throws", List.of(e.getGenericExceptionTypes()));
            each(where + " type parameters", List.of(e.getTypeParameters()));
            return true;
        }

        private void each(String where, Collection<? extends Type> types) {
            for (Type t : types) {
                walk(where, t, new HashSet<>());
            }
        }

        private void walk(String where, Type t, Set<Type> seen) {
            if (t == null || !seen.add(t)) {
                return;
            }
            switch (t) {
                case Class<?> k when k.isArray() -> walk(where, k.getComponentType(), seen);
                case Class<?> k -> {
                    if (!k.isPrimitive() && !allowed(k)) {
                        found.add(where + ": " + k.getName());
                    }
                }
                case ParameterizedType p -> {
                    walk(where, p.getRawType(), seen);
                    walk(where, p.getOwnerType(), seen);
                    for (Type a : p.getActualTypeArguments()) {
                        walk(where, a, seen);
                    }
                }
                case WildcardType w -> {
                    List<Type> bounds = new ArrayList<>(List.of(w.getUpperBounds()));
                    bounds.addAll(List.of(w.getLowerBounds()));
                    bounds.forEach(b -> walk(where, b, seen));
                }
                case TypeVariable<?> v -> {
                    for (Type b : v.getBounds()) {
                        walk(where, b, seen);
                    }
                }
                case GenericArrayType g -> walk(where, g.getGenericComponentType(), seen);
                default -> found.add(where + ": " + t);
            }
        }

        private boolean allowed(Class<?> k) {
            String p = k.getPackageName();
            return p.startsWith("java.") || api.contains(p);
        }
    }
}
