package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * What a program that uses davit's library sees in its API: every public or protected type, field, constructor and
 * method of the exported packages ({@link ModularConsumerTest#API}) names only the JDK's types ({@code java.*}) and
 * the API's own. No Jackson tree (the JSON forms live in davit's own packages), no type of a package the modules do
 * not export (what {@code javac -Xlint:exports} warns of), no other library's type: a consumer needs nothing but
 * davit's modules on its path, and davit may change its dependencies without breaking it.
 */
class ApiSurfaceTest {
    @Test
    void theApiNamesOnlyTheJdksTypesAndItsOwn() throws Exception {
        Set<String> api = new HashSet<>();
        ModularConsumerTest.API.values().forEach(api::addAll);
        ModuleFinder finder = ModuleFinder.of(Stream.of(ModularConsumerTest.modulePath().split(File.pathSeparator))
                .map(Path::of).toArray(Path[]::new));
        Set<String> found = new TreeSet<>();
        int types = 0;
        for (String module : ModularConsumerTest.API.keySet()) {
            ModuleReference ref = finder.find(module).orElseThrow(() -> new AssertionError("no module " + module));
            List<String> classes;
            try (ModuleReader r = ref.open(); Stream<String> names = r.list()) {
                classes = names.filter(n -> n.endsWith(".class") && !n.startsWith("META-INF/")
                        && !n.equals("module-info.class")).map(n -> n.substring(0, n.length() - 6).replace('/', '.'))
                        .filter(n -> api.contains(n.substring(0, n.lastIndexOf('.')))).toList();
            }
            for (String name : classes) {
                Class<?> c = Class.forName(name, false, getClass().getClassLoader());
                if (!visible(c)) {
                    continue;
                }
                types++;
                new Surface(api, c, found).check();
            }
        }
        assertThat(types).as("API types looked at").isGreaterThan(150);
        assertThat(found).as("API members naming a type outside the JDK and davit's API").isEmpty();
    }

    @Test
    void theCheckFindsAForeignType() {
        Set<String> found = new TreeSet<>();
        // davit's own JSON forms name Jackson's trees: the check must see them
        new Surface(Set.of("dev.davit.sandbox.internal"), dev.davit.sandbox.internal.SandboxJson.class, found).check();
        assertThat(found).anyMatch(f -> f.contains("com.fasterxml.jackson.databind.node.ObjectNode"));
    }

    /** Whether {@code c} and every class it is nested in are public (a local or anonymous class is not API). */
    private static boolean visible(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getDeclaringClass()) {
            if (!Modifier.isPublic(k.getModifiers()) && !(k != c && Modifier.isProtected(k.getModifiers()))) {
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
            for (Method m : c.getDeclaredMethods()) {
                if (!m.isBridge() && executable(where + "." + m.getName(), m)) {
                    walk(where + "." + m.getName() + " returns", m.getGenericReturnType(), new HashSet<>());
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
